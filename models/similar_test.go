package models_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"opsbot/models"
	"opsbot/models/modelstest"
)

type pastFixPair struct {
	system, report, past, fix string
}

func readPairs(t *testing.T) []pastFixPair {
	f, err := os.Open("testdata/pastfix_pairs.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []pastFixPair
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 4 {
			t.Fatalf("bad line %q", line)
		}
		out = append(out, pastFixPair{c[0], c[1], c[2], c[3]})
	}
	return out
}

// TestPastFixHitRate measures, on hand-labelled pairs, how often the
// resolved ticket that holds the fix is among the 3 shown at claim time.
// The pool of each system is every labelled past report of it plus the
// distractors. Run: go test ./models -run TestPastFixHitRate -v
func TestPastFixHitRate(t *testing.T) {
	pairs := readPairs(t)
	pool := map[string][]models.Ticket{}
	for i, p := range pairs {
		pool[p.system] = append(pool[p.system], models.Ticket{ID: int64(i + 1), System: p.system, Title: p.past, Description: p.past, Resolution: p.fix})
	}
	n, hits, first := 0, 0, 0
	for i, p := range pairs {
		if p.report == "" {
			continue
		}
		n++
		shown := models.RankPastFixes(p.report, pool[p.system], 3)
		for k, s := range shown {
			if s.Ticket.ID == int64(i+1) {
				hits++
				if k == 0 {
					first++
				}
			}
		}
		if !contains(shown, int64(i+1)) {
			t.Logf("miss: %s %q → want %q", p.system, p.report, p.past)
		}
	}
	if n < 40 {
		t.Fatalf("only %d labelled pairs", n)
	}
	rate := float64(hits) / float64(n)
	fmt.Printf("past-fix hit rate: %d/%d = %.1f%% in the 3 shown (%d first)\n", hits, n, 100*rate, first)
	if rate < 0.8 {
		t.Errorf("hit rate %.1f%% below 80%%", 100*rate)
	}
}

func contains(fs []models.PastFix, id int64) bool {
	for _, f := range fs {
		if f.Ticket.ID == id {
			return true
		}
	}
	return false
}

func TestSimilarityIgnoresFillerAndPunctuation(t *testing.T) {
	if s := models.Similarity("收费系统打印不了发票！", "收费，打印不了发票"); s < 0.7 {
		t.Fatalf("same fault scored %.2f", s)
	}
	if s := models.Similarity("收费系统打印不了发票", "检验仪器结果不回传"); s > 0.1 {
		t.Fatalf("different faults scored %.2f", s)
	}
	if s := models.Similarity("", "打印"); s != 0 {
		t.Fatalf("empty text scored %.2f", s)
	}
}

// TestPastFixesFromTheStore reads only resolved tickets of the system,
// never the ticket being worked on, on both databases.
func TestPastFixesFromTheStore(t *testing.T) {
	modelstest.Each(t, models.Options{}, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		eng := models.Actor{UserID: "zhangsan", Role: models.RoleEngineer, Level: 2}
		mk := func(tx *models.Tx, n int, system, text string) *models.Ticket {
			tk, _, err := tx.CreateTicket(models.NewTicket{System: system, Description: text, ReporterID: "nurse01", Source: models.SourceChat, SourceKey: fmt.Sprint("k", n)}, models.Actor{UserID: "nurse01"})
			if err != nil {
				t.Fatal(err)
			}
			return tk
		}
		err := s.Update(ctx, func(tx *models.Tx) error {
			a := mk(tx, 1, "OPB", "收费系统打印不了发票")
			mk(tx, 2, "OPB", "收费系统打印不了发票，还没修") // open: no fix yet
			c := mk(tx, 3, "LIS", "检验打印不了发票")
			for _, tk := range []*models.Ticket{a, c} {
				if _, err := tx.Claim(tk.ID, eng); err != nil {
					return err
				}
				if _, err := tx.Resolve(tk.ID, eng, "重装驱动"); err != nil {
					return err
				}
			}
			now := mk(tx, 4, "OPB", "收费窗口发票打印不出来")
			fixes, err := tx.PastFixes("OPB", now.Description, now.ID, 3)
			if err != nil {
				return err
			}
			if len(fixes) != 1 || fixes[0].Ticket.ID != a.ID || fixes[0].Ticket.Resolution != "重装驱动" {
				t.Fatalf("past fixes %+v", fixes)
			}
			found, err := tx.SearchResolutions("驱动", "", 5)
			if err != nil {
				return err
			}
			if len(found) != 2 {
				t.Fatalf("search found %d", len(found))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
