package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/bot"
	"opsbot/bot/aibot"
	"opsbot/models"
	"opsbot/outbox"
)

// fakeRobot records what the robot deliverer asks of the long connection.
type fakeRobot struct {
	mu        sync.Mutex
	down      bool  // no subscribed connection
	respondTo error // the answer Respond gives
	calls     []string
}

func (f *fakeRobot) call(what string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, what)
	if f.down {
		return fmt.Errorf("%s: %w", what, aibot.ErrNotConnected)
	}
	return nil
}

func (f *fakeRobot) Respond(_ context.Context, reqID string, b aibot.Body) error {
	if err := f.call("respond " + reqID + " " + bodyText(b)); err != nil {
		return err
	}
	return f.respondTo
}

func (f *fakeRobot) UpdateCard(_ context.Context, reqID string, c aibot.TemplateCard) error {
	return f.call("update " + reqID + " " + c["task_id"].(string))
}

func (f *fakeRobot) Send(_ context.Context, chat string, b aibot.Body) error {
	return f.call("send " + chat + " " + bodyText(b))
}

func (f *fakeRobot) Status() aibot.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return aibot.Status{Leader: true, Subscribed: !f.down, Connected: !f.down}
}

func (f *fakeRobot) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

func bodyText(b aibot.Body) string {
	switch {
	case b.Text != nil:
		return b.Text.Content
	case b.Markdown != nil:
		return b.Markdown.Content
	case b.TemplateCard != nil:
		return "card:" + b.TemplateCard["task_id"].(string)
	}
	return b.MsgType
}

func robotRig(t *testing.T) (*rig, *fakeRobot) {
	r := newRig(t)
	f := &fakeRobot{}
	r.sender.Deliverer = outbox.Route{WeCom: r.wecom, Robot: &outbox.Robot{Client: f, OpsChatID: "wrops", Now: r.clock.Now}, RobotOps: true}
	return r, f
}

// A reply to a robot message answers the callback while WeCom allows,
// and is pushed to the chat after; the ops group is the robot group;
// people still get the app.
func TestRobotRoutes(t *testing.T) {
	r, f := robotRig(t)
	ref := bot.RobotRef{ReqID: "cb1", At: r.clock.Now()}.String()
	r.queue(
		models.Message{To: models.RobotPrefix + "nurse01", Text: "已登记工单 #1", Key: "k1", ReplyTo: ref},
		models.Message{To: models.OpsGroup, Text: "新工单 #1", Key: "k2"},
		models.Message{To: "nurse01", Text: "工程师已接单", Key: "k3"},
	)
	r.run()
	got := f.log()
	slices.Sort(got) // recipients are sent in parallel
	if len(got) != 2 || got[0] != "respond cb1 已登记工单 #1" || got[1] != "send wrops 新工单 #1" {
		t.Fatalf("robot calls %q", got)
	}
	if app := r.fake.Messages(); len(app) != 1 || app[0].To[0] != "nurse01" {
		t.Fatalf("app messages %+v", app)
	}

	// Two replies to one person, to two messages: each answers its own.
	ref3 := bot.RobotRef{ReqID: "cb3", At: r.clock.Now()}.String()
	r.queue(
		models.Message{To: models.RobotPrefix + "nurse02", Text: "答一", Key: "k6", ReplyTo: bot.RobotRef{ReqID: "cb4", At: r.clock.Now()}.String()},
		models.Message{To: models.RobotPrefix + "nurse02", Text: "答二", Key: "k7", ReplyTo: ref3},
	)
	r.run()
	if got := f.log(); len(got) != 2 || got[0] != "respond cb4 答一" || got[1] != "respond cb3 答二" {
		t.Fatalf("two answers %q", got)
	}

	// Past the window the reply is pushed.
	r.queue(models.Message{To: models.RobotPrefix + "nurse01", Text: "晚到的回复", Key: "k4", ReplyTo: ref})
	r.clock.Add(outbox.RobotRespondWindow + time.Second)
	r.run()
	if got := f.log(); len(got) != 1 || got[0] != "send nurse01 晚到的回复" {
		t.Fatalf("late reply %q", got)
	}

	// A refused answer (say the req_id belonged to a connection since
	// replaced) falls back to a push rather than failing.
	f.respondTo = &aibot.Error{Cmd: aibot.CmdRespond, ErrCode: 40008, ErrMsg: "invalid req_id"}
	ref2 := bot.RobotRef{ReqID: "cb2", At: r.clock.Now()}.String()
	r.queue(models.Message{To: models.RobotPrefix + "nurse01", Text: "回复", Key: "k5", ReplyTo: ref2})
	r.run()
	if got := f.log(); len(got) != 2 || !strings.HasPrefix(got[1], "send nurse01") {
		t.Fatalf("refused answer %q", got)
	}
}

// A card click is answered by an update within 5 s; a replacement card
// after that goes as a new card, a mere label is dropped.
func TestRobotCardUpdate(t *testing.T) {
	r, f := robotRig(t)
	click := bot.RobotRef{ReqID: "ev1", At: r.clock.Now(), TaskID: "confirm-1-7"}.String()
	r.queue(models.Message{To: "nurse01", Key: "u1", CardUpdate: &models.CardUpdate{ResponseCode: click, Label: "已确认解决"}})
	r.run()
	if got := f.log(); len(got) != 1 || got[0] != "update ev1 confirm-1-7" {
		t.Fatalf("update %q", got)
	}
	late := bot.RobotRef{ReqID: "ev2", At: r.clock.Now(), TaskID: "confirm-2-8"}.String()
	r.queue(
		models.Message{To: "nurse01", Key: "u2", CardUpdate: &models.CardUpdate{ResponseCode: late, Label: "已确认解决"}},
		models.Message{To: "nurse01", Key: "u3", CardUpdate: &models.CardUpdate{ResponseCode: late, Card: &models.Card{TaskID: "rate-2", Title: "请评价"}}},
	)
	r.clock.Add(outbox.RobotCardWindow + time.Second)
	r.run()
	got := f.log()
	if len(got) != 1 || !strings.HasPrefix(got[0], "send nurse01 card:rate-2-") {
		t.Fatalf("late updates %q", got)
	}
	for _, k := range []string{"u1", "u2", "u3"} {
		if m, _ := r.store.OutboxByKey(context.Background(), k); m.Status != models.OutboxSent {
			t.Fatalf("%s: %+v", k, m)
		}
	}
}

// While the connection is down, robot messages wait, however long the
// outage: no attempt is used up, no rate slot taken, no failure reported;
// they go once it is back.
func TestRobotOutageWaits(t *testing.T) {
	r, f := robotRig(t)
	f.down = true
	r.queue(models.Message{To: models.OpsGroup, Text: "新工单 #1", Key: "o1"})
	for range 20 { // far more than MaxAttempts (3)
		r.run()
		r.clock.Add(time.Minute)
	}
	m, _ := r.store.OutboxByKey(context.Background(), "o1")
	if m.Status != models.OutboxPending || m.Attempts != 0 {
		t.Fatalf("after an outage: %+v", m)
	}
	if got := f.log(); len(got) != 0 {
		t.Fatalf("robot called while down: %q", got)
	}
	f.down = false
	r.run()
	if got := f.log(); len(got) != 1 || got[0] != "send wrops 新工单 #1" {
		t.Fatalf("after the outage %q", got)
	}
	// A connection lost between the status check and the send is the
	// same: postponed, not counted.
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
	r.queue(models.Message{To: models.OpsGroup, Text: "新工单 #2", Key: "o2"})
	rb := &outbox.Robot{Client: &racyRobot{f}, OpsChatID: "wrops", Now: r.clock.Now}
	r.sender.Deliverer = rb
	for range 5 {
		r.run()
		r.clock.Add(time.Minute)
	}
	if m, _ := r.store.OutboxByKey(context.Background(), "o2"); m.Status != models.OutboxPending || m.Attempts != 0 {
		t.Fatalf("not-connected send: %+v", m)
	}
}

// racyRobot reports a connection but has none when asked to send.
type racyRobot struct{ *fakeRobot }

func (r *racyRobot) Send(context.Context, string, aibot.Body) error {
	return errors.Join(errors.New("send"), aibot.ErrNotConnected)
}

// The robot does not carry files yet: a file message becomes a note that
// names the file and where to get it.
func TestRobotFileNote(t *testing.T) {
	r, f := robotRig(t)
	rt := r.sender.Deliverer.(outbox.Route)
	rt.Robot.(*outbox.Robot).Files = r.store.File
	r.sender.Deliverer = rt
	file := &models.File{Name: "2026年11月运维月报.xlsx", Data: make([]byte, 2048), Kind: models.FileReport}
	if err := r.store.Update(context.Background(), func(tx *models.Tx) error { return tx.SaveFile(file) }); err != nil {
		t.Fatal(err)
	}
	r.queue(models.Message{To: models.RobotPrefix + "nurse01", Text: "11 月月报", FileID: file.ID, Key: "f1"})
	r.run()
	got := f.log()
	if len(got) != 1 || !strings.Contains(got[0], "send nurse01 11 月月报\n【文件】2026年11月运维月报.xlsx（2 KB）") {
		t.Fatalf("file note %q", got)
	}
}
