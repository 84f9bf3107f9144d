package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"opsbot/configs"
	"opsbot/models"
)

// The generated file must import without a single bad row, whatever the
// seed, and hold the mix it promises.
func TestGeneratedFileImports(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	sys, err := configs.LoadSystems("")
	if err != nil {
		t.Fatal(err)
	}
	until := time.Date(2026, 12, 1, 6, 0, 0, 0, loc)
	for _, seed := range []uint64{1, 2, 3} {
		var buf bytes.Buffer
		if err := generate(&buf, 5000, 2026, until, seed, loc); err != nil {
			t.Fatal(err)
		}
		p := &models.ImportParser{Catalog: models.NewCatalog(models.SystemsFromConfig(sys), nil), Location: loc, Now: until}
		rows, bad, err := p.ReadImport(strings.NewReader(buf.String()))
		if err != nil || len(bad) > 0 {
			t.Fatalf("seed %d: %d bad rows, first %v, err %v", seed, len(bad), bad[:min(len(bad), 3)], err)
		}
		if len(rows) != 5000 {
			t.Fatalf("seed %d: %d rows", seed, len(rows))
		}
		var closed, rated, named int
		for i, r := range rows {
			if r.Number != int64(i+1) || r.CreatedAt.Year() != 2026 {
				t.Fatalf("row %d: %+v", i, r)
			}
			if r.Status == models.StatusClosed {
				closed++
				if r.Rating > 0 {
					rated++
				}
			}
		}
		for _, line := range strings.Split(buf.String(), "\n")[1:100] {
			if f := strings.Split(line, ","); len(f) > 2 && strings.IndexFunc(f[2], func(r rune) bool { return r > 127 }) >= 0 {
				named++ // a system named by its Chinese name, not its code
			}
		}
		if closed < 4500 || rated < closed*6/10 || rated > closed*8/10 || named == 0 {
			t.Errorf("seed %d: %d closed, %d rated, %d of 99 lines name a system by name", seed, closed, rated, named)
		}
	}
}
