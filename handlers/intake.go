package handlers

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"opsbot/bot"
	"opsbot/models"
)

// intake is a fault report being completed over several messages. It is a
// conversation row in the database, written in the transaction of the
// message that moved it on, so a message retried after a failure finds it
// as it was; it expires after intake.expiry unanswered.
type intake struct {
	Text       string          `json:"text"`
	System     string          `json:"system,omitempty"`
	Candidates []string        `json:"candidates,omitempty"`
	Location   string          `json:"location,omitempty"`
	Department string          `json:"department,omitempty"`
	Phone      string          `json:"phone,omitempty"`
	Kind       models.Kind     `json:"kind"`
	Priority   models.Priority `json:"priority"`
	Why        string          `json:"why,omitempty"`
	// Step is the question waiting for an answer: system, choose, location
	// or phone. Asked lists the steps already asked (each at most once).
	Step  string   `json:"step"`
	Asked []string `json:"asked,omitempty"`
	Tries int      `json:"tries,omitempty"`
	// Files are attachments (screenshots) sent before the ticket exists.
	Files []int64 `json:"files,omitempty"`
	// stored says the intake is in the database and must be ended when
	// it ends; a one-line report never writes it.
	stored bool
}

// convIntake is the conversation kind of a report being completed.
const convIntake = "intake"

// loadIntake returns the user's open intake, nil when none.
func (h *Handlers) loadIntake(tx *models.Tx, c *bot.Context) (*intake, error) {
	kind, state, ok, err := tx.Conversation(c.User())
	if err != nil || !ok || kind != convIntake {
		return nil, err
	}
	var in intake
	if err := json.Unmarshal([]byte(state), &in); err != nil {
		return nil, nil // a garbled state is as good as none
	}
	in.stored = true
	return &in, nil
}

func (h *Handlers) saveIntake(tx *models.Tx, c *bot.Context, in *intake) error {
	b, _ := json.Marshal(in)
	return tx.SaveConversation(c.User(), convIntake, string(b), h.cfg.Intake.Expiry.D())
}

// recognise fills an intake from a report's text.
func (h *Handlers) recognise(text string) (*intake, models.Recognition) {
	r := h.catalog.Recognize(text)
	in := &intake{Text: text, Location: r.Location, Department: r.Department, Kind: r.Kind, Priority: r.Priority, Why: r.PriorityWhy}
	if r.System != nil {
		in.System = r.System.Code
	}
	for _, s := range r.Candidates {
		in.Candidates = append(in.Candidates, s.Code)
	}
	return in, r
}

// startReport begins a report from "报修 <text>" or from free text that
// reads like a fault: a report naming a system and a place becomes a ticket
// at once; otherwise one short question at a time.
func (h *Handlers) startReport(tx *models.Tx, c *bot.Context, in *intake) error {
	// The reporter's department from the address list says where they
	// are when the text does not.
	if in.Department == "" {
		in.Department = department(c)
	}
	return h.advance(tx, c, in)
}

// advance asks the next missing piece or, when nothing is missing, creates
// the ticket.
func (h *Handlers) advance(tx *models.Tx, c *bot.Context, in *intake) error {
	if done, err := h.joinOutage(tx, c, in); done || err != nil {
		return err
	}
	if q := h.nextQuestion(in); q != "" {
		c.Reply(q)
		setGroupLine(c, "已收到，请在与我的私聊中补充几项信息完成报修")
		return h.saveIntake(tx, c, in)
	}
	if err := h.openTicket(tx, c, models.NewTicket{
		Kind: in.Kind, System: in.System, Priority: in.Priority, Description: in.Text,
		Department: in.Department, Location: in.Location, Phone: in.Phone,
	}, in.Files...); err != nil {
		return err
	}
	if !in.stored {
		return nil
	}
	return tx.EndConversation(c.User())
}

func (in *intake) asked(step string) bool {
	for _, s := range in.Asked {
		if s == step {
			return true
		}
	}
	return false
}

// nextQuestion decides what to ask, or "" when the report is complete
// enough: system first, then where, then a phone (only when something had to
// be asked anyway, so that a one-line report never gets a question).
func (h *Handlers) nextQuestion(in *intake) string {
	ask := func(step, q string) string {
		in.Step = step
		in.Asked = append(in.Asked, step)
		in.Tries = 0
		return q
	}
	if in.System == "" && len(in.Candidates) > 1 && !in.asked("choose") {
		var b strings.Builder
		b.WriteString("是哪个系统？请回复序号：")
		for i, code := range in.Candidates {
			fmt.Fprintf(&b, "\n%d. %s", i+1, h.systemName(code))
		}
		b.WriteString("\n不确定请回复“跳过”。")
		return ask("choose", b.String())
	}
	if in.System == "" && !in.asked("system") && !in.asked("choose") {
		return ask("system", "是哪个系统出的问题？例如：收费、挂号、电子病历、检验、医保。不确定请回复“跳过”。")
	}
	if in.Location == "" && in.Department == "" && !in.asked("location") {
		return ask("location", "在哪里？例如：门诊一楼3号窗口、5病区护士站。回复“跳过”不填。")
	}
	if len(in.Asked) > 0 && in.Phone == "" && !in.asked("phone") {
		return ask("phone", "方便回电的电话或分机？回复“跳过”不填。")
	}
	in.Step = ""
	return ""
}

// intakeAnswer applies a reply to the open intake; handled=false when the
// user has none.
func (h *Handlers) intakeAnswer(tx *models.Tx, c *bot.Context) (bool, error) {
	in, err := h.loadIntake(tx, c)
	if err != nil || in == nil {
		return false, err
	}
	answer := strings.TrimSpace(c.Text)
	switch in.Step {
	case "describe":
		// The words after a screenshot that started the report.
		got, _ := h.recognise(answer)
		got.Files, got.Asked, got.stored = in.Files, in.Asked, true
		return true, h.startReport(tx, c, got)
	case "choose":
		n, err := strconv.Atoi(answer)
		if err == nil && n >= 1 && n <= len(in.Candidates) {
			in.System = in.Candidates[n-1]
			break
		}
		if codes := h.catalog.Resolve(answer); len(codes) == 1 {
			in.System = codes[0]
			break
		}
		return true, h.reask(tx, c, in, fmt.Sprintf("请回复 1 到 %d 的序号，或回复“跳过”。", len(in.Candidates)))
	case "system":
		codes := h.catalog.Resolve(answer)
		if len(codes) != 1 {
			if got, _ := h.recognise(answer); got.System != "" {
				codes = []string{got.System}
			} else {
				codes = got.Candidates
			}
		}
		switch {
		case len(codes) == 1:
			in.System = codes[0]
		case len(codes) > 1:
			in.Candidates = codes
		default:
			return true, h.reask(tx, c, in, "没有找到这个系统。请换个说法，例如：收费、挂号、电子病历、检验；不确定请回复“跳过”。")
		}
	case "location":
		in.Location = answer
	case "phone":
		in.Phone = answer
	default:
		return false, nil
	}
	return true, h.advance(tx, c, in)
}

// reask repeats a question once; the second miss skips it, so a report is
// never stuck.
func (h *Handlers) reask(tx *models.Tx, c *bot.Context, in *intake, hint string) error {
	in.Tries++
	if in.Tries > 1 {
		return h.advance(tx, c, in)
	}
	c.Reply(hint)
	return h.saveIntake(tx, c, in)
}

// intakeCommand handles 跳过 and 取消 inside an intake.
func (h *Handlers) intakeCommand(tx *models.Tx, c *bot.Context, what string) (bool, error) {
	in, err := h.loadIntake(tx, c)
	if err != nil || in == nil {
		return false, err
	}
	if what == "abort" {
		c.Reply("已取消这次报修，没有生成工单。")
		return true, tx.EndConversation(c.User())
	}
	return true, h.advance(tx, c, in)
}
