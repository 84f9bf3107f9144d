package handlers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"opsbot/bot"
	"opsbot/configs"
	"opsbot/models"
)

// correctSystem is 改系统 N <系统名或代码>: the ticket's system is set, and
// the words of the report the recogniser missed become a learned alias,
// shared by every replica through the database.
func (h *Handlers) correctSystem(c *bot.Context) error {
	id, name, err := parseNumber(c.Args, "改系统 12 检验")
	if err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return models.Errorf(models.EInvalid, "请写上正确的系统，例如：改系统 %d 检验", id)
	}
	code, err := h.systemFor(name)
	if err != nil {
		return err
	}
	var learnt, disputed string
	err = h.tx(c, func(tx *models.Tx) error {
		learnt, disputed = "", ""
		t, old, err := tx.CorrectSystem(id, actor(c), code)
		if err != nil {
			return err
		}
		c.Replyf("工单 #%d 的系统已由“%s”改为“%s”。", id, orDash(h.systemName(old)), h.systemName(code))
		phrase := h.catalog.LearnablePhrase(t.Description)
		if phrase == "" {
			return nil
		}
		outcome, err := tx.LearnAlias(phrase, code, c.User())
		if err != nil {
			return err
		}
		switch outcome {
		case models.LearnedNew:
			learnt = phrase
			c.Replyf("已学会：以后报修说“%s”就识别为“%s”。说错了可请服务主管发“别名 删除 %s”。", phrase, h.systemName(code), phrase)
		case models.LearnedConflict:
			disputed = phrase
			c.Replyf("“%s”曾被改成别的系统，说法有分歧，不再自动识别。", phrase)
		}
		return nil
	})
	if err == nil && (learnt != "" || disputed != "") {
		// This replica knows at once (the batch may not have committed
		// yet, so the database cannot be read back); the others learn at
		// their next refresh.
		h.setLearned(func(m map[string]string) {
			if learnt != "" {
				m[configs.FoldKey(learnt)] = code
			}
			delete(m, configs.FoldKey(disputed))
		})
	}
	return err
}

// setLearned changes this process's learned aliases in place.
func (h *Handlers) setLearned(change func(map[string]string)) {
	m := h.catalog.Learned()
	change(m)
	h.catalog.SetLearned(m)
}

// systemFor resolves a system name or code to one code, or answers with
// the nearest names.
func (h *Handlers) systemFor(name string) (string, error) {
	for _, n := range []string{name, strings.ToUpper(name)} {
		if s, ok := h.catalog.System(n); ok {
			return s.Code, nil
		}
	}
	codes := h.catalog.Resolve(name)
	if len(codes) == 1 {
		return codes[0], nil
	}
	if len(codes) > 1 {
		var names []string
		for _, code := range codes {
			names = append(names, h.systemName(code))
		}
		return "", models.Errorf(models.EInvalid, "“%s”对应多个系统：%s。请写全名或代码", name, strings.Join(names, "、"))
	}
	near := h.catalog.Nearest(name, 3)
	if len(near) == 0 {
		return "", models.Errorf(models.ENotFound, "未找到系统“%s”，请用系统名或代码", name)
	}
	return "", models.Errorf(models.ENotFound, "未找到系统“%s”，您是不是要找：%s？", name, strings.Join(near, "、"))
}

// aliases is 别名 (list the learned aliases) and 别名 删除 <词>.
func (h *Handlers) aliases(c *bot.Context) error {
	args := strings.Fields(c.Args)
	if len(args) > 0 && (args[0] == "删除" || args[0] == "删") {
		if !actor(c).Manages() {
			return models.Errorf(models.EForbidden, "只有服务主管可以删除别名")
		}
		if len(args) < 2 {
			return models.Errorf(models.EInvalid, "请写上要删除的词，例如：别名 删除 叫床铃")
		}
		phrase := strings.Join(args[1:], "")
		err := h.tx(c, func(tx *models.Tx) error {
			if err := tx.DeleteLearnedAlias(phrase); err != nil {
				return err
			}
			c.Replyf("已删除别名“%s”，以后不再按它识别。", phrase)
			return nil
		})
		if err == nil {
			h.setLearned(func(m map[string]string) { delete(m, configs.FoldKey(phrase)) })
		}
		return err
	}
	return h.tx(c, func(tx *models.Tx) error {
		rows, err := tx.LearnedAliases()
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			c.Reply("还没有学到别名。工程师发“改系统 单号 系统”纠正识别后，报修里的说法会被记住。")
			return nil
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].CreatedAt.After(rows[j].CreatedAt) })
		var b strings.Builder
		fmt.Fprintf(&b, "已学到的别名（%d）：", len(rows))
		for _, r := range rows {
			if r.Conflict {
				fmt.Fprintf(&b, "\n%s → 有分歧，不识别", r.Phrase)
				continue
			}
			fmt.Fprintf(&b, "\n%s → %s（%s）", r.Phrase, h.systemName(r.Code), staffName(tx, r.CreatedBy))
		}
		b.WriteString("\n删除发“别名 删除 词”（服务主管）。")
		c.Reply(b.String())
		return nil
	})
}

// RefreshLearned reads the learned aliases from the database into the
// catalog; every replica runs it at start and periodically (the job
// "learned-aliases"), and after a correction in this process.
func (h *Handlers) RefreshLearned(ctx context.Context) error {
	phrases, err := h.store.LearnedPhrases(ctx)
	if err != nil {
		return err
	}
	h.catalog.SetLearned(phrases)
	return nil
}
