package handlers

import (
	"fmt"

	"opsbot/bot"
	"opsbot/models"
)

// Where replies to smart-robot messages go.
//
// A one-to-one robot message is answered in the robot's chat
// ("robot:<userid>"), answering the callback while WeCom allows. A
// message sent in a group is answered privately, to the reporter's plain
// userid (the app when it is configured, else the robot's one-to-one
// chat): ticket details, intake questions and cards are nobody else's
// business. The group sees one short line naming the sender, and only for
// a command or a report; small talk gets its hint privately, never in the
// group.

// groupLineKey holds the short group line a handler chose.
type groupLineKey struct{}

// setGroupLine sets what the group sees when the message came from a group
// chat ("已登记工单 #12，详情已私信"); without one, a command answers
// "已私信回复" and anything else says nothing in the group.
func setGroupLine(c *bot.Context, line string) {
	if c.Msg.InGroup() {
		c.Set(groupLineKey{}, line)
	}
}

// replyMessage is the i-th reply to the message being handled.
func replyMessage(c *bot.Context, i int, text string) models.Message {
	m := models.Message{To: c.User(), Text: text, Key: fmt.Sprintf("r:%s:%d", c.Msg.Key, i)}
	if c.Msg.IsRobot() && !c.Msg.InGroup() {
		m.To = models.RobotPrefix + c.User()
		// One answer per message callback; later replies, and replies to a
		// card click (answered by the card update), are pushed.
		if i == 0 && c.Msg.Type != bot.TypeEvent {
			m.ReplyTo = bot.RobotRef{ReqID: c.Msg.ReqID, At: c.Msg.CreateTime}.String()
		}
	}
	return m
}

// groupReply queues the short line for the group a message came from.
func groupReply(tx *models.Tx, c *bot.Context) error {
	if !c.Msg.IsRobot() || !c.Msg.InGroup() || c.Msg.Type == bot.TypeEvent {
		return nil
	}
	line, _ := c.Get(groupLineKey{}).(string)
	if line == "" {
		if c.Command == nil || len(c.Replies()) == 0 {
			return nil
		}
		line = "已私信回复"
	}
	name := actor(c).Name
	if name == "" {
		name = c.User()
	}
	return tx.Send(models.Message{
		To: models.RobotPrefix + c.Msg.ChatID, Text: "@" + name + " " + line,
		Key:     "g:" + c.Msg.Key,
		ReplyTo: bot.RobotRef{ReqID: c.Msg.ReqID, At: c.Msg.CreateTime}.String(),
	})
}
