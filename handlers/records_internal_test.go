package handlers

import (
	"strings"
	"testing"
)

func TestChunksKeepLinesWholeUnderTheLimit(t *testing.T) {
	text := strings.Repeat("检验科危急值电话通知临床科室\n", 100) + strings.Repeat("长", 1000)
	parts := chunks(text, 1800)
	if len(parts) < 3 {
		t.Fatalf("%d parts", len(parts))
	}
	for _, p := range parts {
		if len(p) > 1800 {
			t.Fatalf("part of %d bytes", len(p))
		}
		if !strings.HasPrefix(p, "检") && !strings.HasPrefix(p, "长") {
			t.Fatalf("a part starts mid-line: %q", p[:12])
		}
	}
	if got := strings.Join(parts, ""); strings.ReplaceAll(got, "\n", "") != strings.ReplaceAll(text, "\n", "") {
		t.Fatal("text lost in chunking")
	}
}
