package models_test

import (
	"context"
	"testing"
	"time"

	"opsbot/models"
	"opsbot/models/modelstest"
)

// TestLearnedAliasesAndConflicts: a phrase is learned once, a second
// correction to another system marks it conflicting (no longer served),
// a deletion removes it, and the corrections are counted per period.
func TestLearnedAliasesAndConflicts(t *testing.T) {
	clock := newClock()
	modelstest.Each(t, models.Options{Now: clock.Now}, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		tk := createTicket(t, s, "k1")
		var outcomes []string
		err := s.Update(ctx, func(tx *models.Tx) error {
			if _, old, err := tx.CorrectSystem(tk.ID, engineer, "NWS"); err != nil || old != tk.System {
				t.Fatalf("correct: old %q err %v", old, err)
			}
			for _, c := range []struct{ phrase, code string }{{"床头屏", "NWS"}, {"床头屏", "NWS"}, {"叫床铃", "NWS"}, {"叫床铃", "NREC"}} {
				o, err := tx.LearnAlias(c.phrase, c.code, "zhangsan")
				if err != nil {
					return err
				}
				outcomes = append(outcomes, o)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := []string{models.LearnedNew, models.LearnedSame, models.LearnedNew, models.LearnedConflict}; len(outcomes) != 4 || outcomes[0] != got[0] || outcomes[1] != got[1] || outcomes[2] != got[2] || outcomes[3] != got[3] {
			t.Fatalf("outcomes %v", outcomes)
		}
		phrases, err := s.LearnedPhrases(ctx)
		if err != nil || len(phrases) != 1 || phrases["床头屏"] != "NWS" {
			t.Fatalf("served phrases %v %v", phrases, err)
		}
		s.Update(ctx, func(tx *models.Tx) error {
			if _, _, err := tx.CorrectSystem(tk.ID, nurse, "LIS"); err == nil {
				t.Error("a reporter corrected a system")
			}
			n, err := tx.CorrectedIn(clock.Now().Add(-time.Hour), clock.Now().Add(time.Hour))
			if err != nil || n != 1 {
				t.Errorf("corrected %d %v", n, err)
			}
			if err := tx.DeleteLearnedAlias("床头屏"); err != nil {
				t.Error(err)
			}
			if err := tx.DeleteLearnedAlias("床头屏"); models.ErrorMessage(err) == "" {
				t.Errorf("deleting a missing phrase: %v", err)
			}
			return nil
		})
		if phrases, _ := s.LearnedPhrases(ctx); len(phrases) != 0 {
			t.Fatalf("deleted phrase still served: %v", phrases)
		}
	})
}

// TestPurgeAttachmentsKeepsOpenTickets: only old attachments of closed or
// cancelled tickets (or of none) go.
func TestPurgeAttachmentsKeepsOpenTickets(t *testing.T) {
	clock := newClock()
	modelstest.Each(t, models.Options{Now: clock.Now}, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		open := createTicket(t, s, "open")
		gone := createTicket(t, s, "gone")
		s.Update(ctx, func(tx *models.Tx) error {
			_, err := tx.Cancel(gone.ID, nurse, "好了")
			return err
		})
		err := s.Update(ctx, func(tx *models.Tx) error {
			for _, tid := range []*int64{&open.ID, &gone.ID, nil} {
				f := &models.File{Name: "截图.jpg", Data: []byte("x"), Kind: models.FileAttachment, TicketID: tid, StoreKey: ""}
				if tid == &gone.ID {
					f.StoreKey, f.Data, f.Size, f.SHA256 = "attachments/k.jpg", nil, 1, "00"
				}
				if err := tx.SaveFile(f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		n, _, err := s.PurgeAttachments(ctx, clock.Now(), 100)
		if err != nil || n != 0 {
			t.Fatalf("fresh attachments purged: %d %v", n, err)
		}
		clock.Add(31 * 24 * time.Hour)
		n, keys, err := s.PurgeAttachments(ctx, clock.Now().Add(-30*24*time.Hour), 100)
		if err != nil || n != 2 || len(keys) != 1 || keys[0] != "attachments/k.jpg" {
			t.Fatalf("purged %d keys %v err %v", n, keys, err)
		}
		s.View(ctx, func(tx *models.Tx) error {
			files, err := tx.FilesOf(open.ID)
			if err != nil || len(files) != 1 {
				t.Errorf("open ticket's attachment: %v %v", files, err)
			}
			return nil
		})
	})
}
