package handlers

import (
	"strings"
	"testing"
	"time"

	"opsbot/models"
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

func TestParseWindowInTheHospitalZone(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, sh)
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, sh).UTC() }
	for _, tc := range []struct {
		in       string
		from, to time.Time
		err      string
	}{
		{in: "12-05 22:00-23:30", from: at(2026, 12, 5, 22, 0), to: at(2026, 12, 5, 23, 30)},
		{in: "12-05 22:00-02:00", from: at(2026, 12, 5, 22, 0), to: at(2026, 12, 6, 2, 0)},
		{in: "12-05 22:00-12-06 03:30", from: at(2026, 12, 5, 22, 0), to: at(2026, 12, 6, 3, 30)},
		{in: "12月5日 22：00 至 23：30", from: at(2026, 12, 5, 22, 0), to: at(2026, 12, 5, 23, 30)},
		{in: "2027-01-03 08:00-09:00", from: at(2027, 1, 3, 8, 0), to: at(2027, 1, 3, 9, 0)},
		{in: "01-03 08:00-09:00", from: at(2027, 1, 3, 8, 0), to: at(2027, 1, 3, 9, 0)},
		{in: "12-31 23:00-01-01 01:00", from: at(2026, 12, 31, 23, 0), to: at(2027, 1, 1, 1, 0)},
		{in: "11-29 22:00-23:00", err: "已经过去"},
		{in: "明天晚上", err: "12-05 22:00-23:30"},
		{in: "13-05 22:00-23:00", err: "没看懂"},
		{in: "12-05 22:00-12-20 22:00", err: "7 天"},
	} {
		from, to, err := parseWindow(tc.in, now, sh)
		if tc.err != "" {
			if err == nil || !strings.Contains(models.ErrorMessage(err), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !from.Equal(tc.from) || !to.Equal(tc.to) {
			t.Errorf("%q: %v–%v %v, want %v–%v", tc.in, from, to, err, tc.from, tc.to)
		}
	}
}
