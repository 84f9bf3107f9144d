package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInspectionsExampleLoads(t *testing.T) {
	in, err := LoadInspections("inspections.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Times) != 2 || in.Times[0].Spec != "0 8 * * *" || in.Times[1].Spec != "30 17 * * *" ||
		in.RemindAfter.D() != time.Hour || len(in.Checklists) == 0 {
		t.Fatalf("example = %+v", in)
	}
}

func TestInspectionsRefuseMistakes(t *testing.T) {
	for name, body := range map[string]string{
		"bad spec":     "times: [{name: 早巡检, spec: \"8点\"}]\nchecklists: [{system: HIS, items: [a]}]\n",
		"no items":     "times: [{name: 早巡检, spec: \"0 8 * * *\"}]\nchecklists: [{system: HIS}]\n",
		"unknown key":  "times: [{name: 早巡检, spec: \"0 8 * * *\", when: x}]\n",
		"remind order": "remind_after: 2h\nescalate_after: 1h\n",
	} {
		p := filepath.Join(t.TempDir(), "inspections.yaml")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := LoadInspections(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
}
