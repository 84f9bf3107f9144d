package handlers

import (
	"errors"
	"fmt"
	"strings"

	"opsbot/bot"
	"opsbot/models"
)

// help is generated from the route table, filtered by the caller's role.
func (h *Handlers) help(c *bot.Context) error {
	a := actor(c)
	groups := []string{forEveryone}
	switch {
	case a.Role == models.RoleEngineer:
		groups = append(groups, forEngineers)
	case a.Manages():
		groups = append(groups, forEngineers, forSupervisor)
	}
	titles := map[string]string{forEveryone: "报修与查询", forEngineers: "工程师", forSupervisor: "服务主管"}
	var b strings.Builder
	b.WriteString("opsbot 运维服务台，可用命令（单号可写 12 或 #12）：")
	for _, g := range groups {
		fmt.Fprintf(&b, "\n【%s】", titles[g])
		for _, cmd := range h.router.Commands() {
			if cmd.Group != g || cmd.Name == "帮助" {
				continue
			}
			fmt.Fprintf(&b, "\n%s：%s，例：%s", cmd.Name, cmd.Help, cmd.Example)
		}
	}
	b.WriteString("\n也可以直接描述故障，例如“收费系统打印不了发票，门诊一楼3号窗口”。")
	c.Reply(b.String())
	return nil
}

// skip and abort answer 跳过/取消 outside an intake.
func (h *Handlers) skip(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		if handled, err := h.intakeCommand(tx, c, "skip"); handled || err != nil {
			return err
		}
		c.Reply("现在没有需要跳过的问题。报修请直接描述故障，例如：报修 门诊收费 3号窗口打印不了发票")
		return nil
	})
}

func (h *Handlers) abort(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error {
		if handled, err := h.recordsAbort(tx, c); handled || err != nil {
			return err
		}
		if handled, err := h.abortSurvey(tx, c); handled || err != nil {
			return err
		}
		if handled, err := h.intakeCommand(tx, c, "abort"); handled || err != nil {
			return err
		}
		c.Reply("现在没有正在填写的报修。要撤销工单请发“撤销 单号”。")
		return nil
	})
}

// welcome greets someone opening the app.
func (h *Handlers) welcome(c *bot.Context) error {
	// Entering the app happens often; a greeting each time would be noise,
	// so the event is only marked as seen.
	return nil
}

// other answers message types opsbot cannot read.
func (h *Handlers) other(c *bot.Context) error {
	if isMedia(c.Msg) {
		return h.attachment(c)
	}
	switch c.Msg.Type {
	case "image", "voice", "video", "file", "location", "link":
		c.Reply("暂时只能看懂文字。请用文字描述故障，例如：报修 门诊收费 3号窗口打印不了发票。图片可发给接单工程师。")
	}
	return nil
}

// onError logs an internal error once; the user sees an apology only when
// the message finally fails (see Process).
func (h *Handlers) onError(c *bot.Context, err error) {
	if errors.Is(err, errAlreadyDone) {
		return
	}
	h.log.Error("handler failed", "msg_key", c.Msg.Key, "wecom_user", c.User(), "err", err)
}

// freeText handles text without a command: an answer to an open intake,
// a hint for small talk, a suggestion when it looks like a mistyped
// command, and otherwise an intake when it reads like a fault.
func (h *Handlers) freeText(c *bot.Context) error {
	return h.tx(c, func(tx *models.Tx) error { return h.freeTextTx(tx, c) })
}

func (h *Handlers) freeTextTx(tx *models.Tx, c *bot.Context) error {
	for _, take := range []func(*models.Tx, *bot.Context) (bool, error){h.recordsAnswer, h.surveyAnswer, h.objectionComment, h.ratingComment} {
		if handled, err := take(tx, c); handled || err != nil {
			return err
		}
	}
	if handled, err := h.intakeAnswer(tx, c); handled || err != nil {
		return err
	}
	in, r := h.recognise(c.Msg.Text)
	if r.SmallTalk {
		c.Reply(hintText)
		return nil
	}
	if names := h.router.Suggest(c.Text); len(names) > 0 {
		var opts []string
		for _, name := range names {
			for _, cmd := range h.router.Commands() {
				if cmd.Name == name {
					opts = append(opts, fmt.Sprintf("“%s”（例：%s）", name, cmd.Example))
				}
			}
		}
		c.Replyf("没有看懂。您是想用%s吗？", strings.Join(opts, "或"))
		return nil
	}
	if !r.FaultLike {
		c.Reply(hintText)
		return nil
	}
	return h.startReport(tx, c, in)
}

// hintText answers what is neither a command nor a fault.
const hintText = "您好，我是运维服务台。报修请直接描述系统和故障，例如：收费系统打印不了发票，门诊一楼3号窗口。发“我的工单”查进度，发“帮助”看全部命令。"
