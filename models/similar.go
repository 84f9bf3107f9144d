package models

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Similar wording of tickets, for past fixes (历史处理) and recurring
// problems. Chinese has no spaces to split words at, so a text is its set
// of grams after the recogniser's normalisation (width, case and
// punctuation folded): its character bigrams and its single characters,
// less the fillers every report shares. Two texts score the Dice
// coefficient of their gram sets. The same Go scoring runs on both
// databases, so SQLite and Postgres show the same hints: pg_trgm is
// available on Postgres, but its grams are three characters of one
// "word" (a whole unspaced Chinese phrase), which two short reports of one
// fault rarely share ("日结报错" and "无法日结"); the candidates are few (one
// system's resolved tickets, newest pastFixPool) and are scored in Go.

// fillerBigrams are bigrams that say nothing about the fault.
var fillerBigrams = map[string]bool{
	"系统": true, "一下": true, "请问": true, "麻烦": true, "老师": true, "谢谢": true, "你好": true,
	"您好": true, "帮忙": true, "现在": true, "这个": true, "那个": true, "我们": true, "科室": true,
	"怎么": true, "么办": true, "了一": true, "一直": true,
}

// stopChars are characters too common in reports to say which fault it is.
var stopChars = map[rune]bool{'的': true, '了': true, '是': true, '我': true, '在': true, '有': true, '一': true, '个': true,
	'这': true, '那': true, '吗': true, '呢': true, '啊': true, '吧': true, '要': true, '就': true, '还': true, '都': true, '系': true, '统': true}

// Bigrams returns the grams of s, folded as the recogniser folds text: its
// character bigrams, less the filler ones, and its single characters
// (marked with a leading space), less the commonest, so that "日结" and
// "结不了账" still meet on "结".
func Bigrams(s string) map[string]bool {
	t := normalize(s)
	rs := t.compact
	out := make(map[string]bool, 2*len(rs))
	for _, r := range rs {
		if !stopChars[r] {
			out[" "+string(r)] = true
		}
	}
	for i := 0; i+1 < len(rs); i++ {
		g := string(rs[i : i+2])
		if fillerBigrams[g] {
			continue
		}
		out[g] = true
	}
	return out
}

// Similarity scores how alike two texts are, 0 to 1.
func Similarity(a, b string) float64 { return dice(Bigrams(a), Bigrams(b)) }

func dice(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	n := 0
	for g := range a {
		if b[g] {
			n++
		}
	}
	return 2 * float64(n) / float64(len(a)+len(b))
}

// ticketText is the reporter's wording of a ticket.
func ticketText(t *Ticket) string {
	if t.Description != "" {
		return t.Description
	}
	return t.Title
}

// PastFix is a resolved ticket shown as a hint, with its score.
type PastFix struct {
	Ticket Ticket
	Score  float64
}

// pastFixMin is the least score a hint needs: below it the wording shares
// little more than a system name.
const pastFixMin = 0.2

// pastFixPool bounds how many resolved tickets of a system are compared:
// the newest ones, where a fault met again is most likely.
const pastFixPool = 2000

// RankPastFixes orders candidates by similarity of their wording to text
// and returns the best n above the floor.
func RankPastFixes(text string, candidates []Ticket, n int) []PastFix {
	q := Bigrams(text)
	var out []PastFix
	for _, c := range candidates {
		s := dice(q, Bigrams(ticketText(&c)))
		if s >= pastFixMin {
			out = append(out, PastFix{Ticket: c, Score: s})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Ticket.ID > out[j].Ticket.ID
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// resolvedStatuses are the statuses of tickets with a fix worth showing.
var resolvedStatuses = []Status{StatusResolved, StatusClosed}

// PastFixes returns up to n resolved tickets of system whose wording is
// like text, each with its resolution, best first; exclude is the ticket
// being worked on.
func (tx *Tx) PastFixes(system, text string, exclude int64, n int) ([]PastFix, error) {
	if system == "" {
		return nil, nil
	}
	var cands []Ticket
	err := tx.db.Where("system_code = ? AND status IN ? AND resolution <> '' AND id <> ? AND parent_id IS NULL", system, resolvedStatuses, exclude).
		Order("id DESC").Limit(pastFixPool).Find(&cands).Error
	if err != nil {
		return nil, wrap("past fixes", err)
	}
	return RankPastFixes(text, cands, n), nil
}

// SearchResolutions finds resolved tickets whose wording or resolution
// matches query (查 <关键词> [系统]): a ticket containing every keyword
// ranks first, then by bigram similarity. system may be "".
func (tx *Tx) SearchResolutions(query, system string, n int) ([]PastFix, error) {
	q := tx.db.Where("status IN ? AND resolution <> '' AND parent_id IS NULL", resolvedStatuses)
	if system != "" {
		q = q.Where("system_code = ?", system)
	}
	var cands []Ticket
	if err := q.Order("id DESC").Limit(pastFixPool).Find(&cands).Error; err != nil {
		return nil, wrap("search resolutions", err)
	}
	words := strings.Fields(strings.ToLower(query))
	qb := Bigrams(query)
	var out []PastFix
	for _, c := range cands {
		all := strings.ToLower(c.Title + " " + c.Description + " " + c.Resolution)
		hits := 0
		for _, w := range words {
			if strings.Contains(all, w) {
				hits++
			}
		}
		s := dice(qb, Bigrams(c.Title+c.Description+c.Resolution))
		if hits == len(words) && hits > 0 {
			s += 1
		} else if s < pastFixMin/2 {
			continue
		}
		out = append(out, PastFix{Ticket: c, Score: s})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Ticket.ID > out[j].Ticket.ID
	})
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// recentPool bounds the tickets compared when a ticket opens: every new
// report pays for it, so only the newest of its system are read.
const recentPool = 300

// SimilarRecent returns the tickets of t's system opened in the window
// before t whose wording is like t's (score at least min), t included,
// oldest first.
func (tx *Tx) SimilarRecent(t *Ticket, window time.Duration, min float64) ([]Ticket, error) {
	if t.System == "" {
		return nil, nil
	}
	var cands []Ticket
	err := tx.db.Where("system_code = ? AND created_at >= ? AND id <> ? AND status <> ? AND parent_id IS NULL", t.System, t.CreatedAt.Add(-window), t.ID, StatusCancelled).
		Order("id DESC").Limit(recentPool).Find(&cands).Error
	if err != nil {
		return nil, wrap("similar recent", err)
	}
	slices.Reverse(cands)
	q := Bigrams(ticketText(t))
	var out []Ticket
	for _, c := range cands {
		if dice(q, Bigrams(ticketText(&c))) >= min {
			out = append(out, c)
		}
	}
	return append(out, *t), nil
}
