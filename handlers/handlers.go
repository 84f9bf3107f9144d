// Package handlers holds opsbot's one route table: each handler turns a
// chat command or a card click into a models call and a short Chinese reply.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"opsbot/bot"
	"opsbot/configs"
	"opsbot/kv"
	"opsbot/models"
)

// Directory looks people up in the WeCom address list; nil in the terminal
// chat. An unknown person still works with the bare userid.
type Directory interface {
	Lookup(ctx context.Context, userID string) (name, department string, err error)
}

// Deps are what the handlers need.
type Deps struct {
	Store   *models.Store
	KV      kv.Store
	Catalog *models.Catalog
	Config  configs.Config
	// OnCall is the on-call rota; PhoneGateway says whether urgent
	// out-of-hours tickets also go to the on-call engineer's phone.
	OnCall       configs.OnCall
	PhoneGateway bool
	Log          *slog.Logger
	// Source marks tickets created here: wecom or chat.
	Source models.Source
	// Media downloads what users send; Bucket, when set, keeps the bytes
	// (nil: the files table). Both may also be set later with SetMedia.
	Media  MediaFetcher
	Bucket Bucket
}

// Handlers answers chat messages.
type Handlers struct {
	store        *models.Store
	kv           kv.Store
	dir          Directory
	catalog      *models.Catalog
	cfg          configs.Config
	oncall       configs.OnCall
	phoneGateway bool
	log          *slog.Logger
	source       models.Source
	router       *bot.Router
	actors       sync.Map // userid → cachedActor
	media        MediaFetcher
	bucket       Bucket
}

// New builds the handlers and their route table.
func New(d Deps) *Handlers {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Source == "" {
		d.Source = models.SourceWeCom
	}
	h := &Handlers{store: d.Store, kv: d.KV, catalog: d.Catalog, cfg: d.Config, oncall: d.OnCall, phoneGateway: d.PhoneGateway, log: d.Log, source: d.Source, media: d.Media, bucket: d.Bucket}
	h.router = h.routes()
	return h
}

// ctxKey keys values stored on a Context.
type ctxKey int

const (
	actorKey ctxKey = iota
	doneKey
	batchKey
	deptKey
	mediaKey
)

// actor is who sent the message; set by the identify middleware.
func actor(c *bot.Context) models.Actor {
	a, _ := c.Get(actorKey).(models.Actor)
	return a
}

// errAlreadyDone stops a handler whose message was processed before (a
// retry after a crash, or two processors racing): its effects exist.
var errAlreadyDone = errors.New("handlers: message already processed")

// identify makes sure the actor found before the batch opened is on the
// Context (messages handled outside ProcessBatch look it up here).
func (h *Handlers) identify(next bot.HandlerFunc) bot.HandlerFunc {
	return func(c *bot.Context) error {
		if _, ok := c.Get(actorKey).(models.Actor); !ok {
			w, err := h.whoIs(c.Context(), c.User())
			if err != nil {
				return err
			}
			c.Set(actorKey, w.actor)
			c.Set(deptKey, w.dept)
		}
		return next(c)
	}
}

// sender is who sent a message, as known before their message is handled: their role
// from the roster and, for reporters, name and department from the
// address list.
type sender struct {
	actor models.Actor
	dept  string
}

// whoIs looks a sender up. It may call WeCom's address list, so it runs
// before the batch transaction opens, never inside one.
func (h *Handlers) whoIs(ctx context.Context, userID string) (sender, error) {
	a, err := h.actorOf(ctx, userID)
	if err != nil {
		return sender{}, err
	}
	w := sender{actor: a}
	if a.Name == "" && h.dir != nil {
		if name, dept, err := h.dir.Lookup(ctx, userID); err == nil {
			w.actor.Name, w.dept = name, dept
		}
	}
	return w, nil
}

// actorTTL bounds how long a role read from the roster is reused: roles
// change only when the roster file is synced at a start, so a short cache
// saves a database read per message without serving stale roles for long.
const actorTTL = 30 * time.Second

type cachedActor struct {
	a  models.Actor
	at time.Time
}

// actorOf returns who userID is, from the cache or the staff table.
func (h *Handlers) actorOf(ctx context.Context, userID string) (models.Actor, error) {
	if v, ok := h.actors.Load(userID); ok {
		if c := v.(cachedActor); time.Since(c.at) < actorTTL {
			return c.a, nil
		}
	}
	var a models.Actor
	err := h.store.View(ctx, func(tx *models.Tx) error {
		var err error
		a, err = tx.ActorFor(userID, "")
		return err
	})
	if err == nil {
		h.actors.Store(userID, cachedActor{a, time.Now()})
	}
	return a, err
}

// department is the sender's department from the address list, if known.
func department(c *bot.Context) string {
	d, _ := c.Get(deptKey).(string)
	return d
}

// batchOf is the batch transaction the message is handled in.
func batchOf(c *bot.Context) *models.Batch {
	b, _ := c.Get(batchKey).(*models.Batch)
	return b
}

// finish makes the handling of a message one durable step: a user-facing
// error becomes the reply, and replies not yet written by the handler's own
// transaction are written now with the inbox mark. Internal errors go up so
// the message is retried from the inbox.
func (h *Handlers) finish(next bot.HandlerFunc) bot.HandlerFunc {
	return func(c *bot.Context) error {
		err := next(c)
		if errors.Is(err, errAlreadyDone) {
			return nil
		}
		if err != nil {
			msg := models.ErrorMessage(err)
			if msg == "" {
				return err
			}
			c.TakeReplies()
			c.Reply(msg)
		}
		if c.Get(doneKey) != nil {
			return nil
		}
		err = h.tx(c, func(*models.Tx) error { return nil })
		if errors.Is(err, errAlreadyDone) {
			return nil
		}
		return err
	}
}

// tx runs fn in one transaction with the message's inbox mark and replies,
// so that a message has its effect and its answers exactly once.
func (h *Handlers) tx(c *bot.Context, fn func(*models.Tx) error) error {
	b := batchOf(c)
	if b == nil {
		return fmt.Errorf("handlers: message %s handled outside a batch", c.Msg.Key)
	}
	err := b.Update(func(tx *models.Tx) error {
		if c.Msg.Key != "" {
			fresh, err := tx.ClaimInbox(c.Msg.Key)
			if err != nil {
				return err
			}
			if !fresh {
				return errAlreadyDone
			}
		}
		if err := fn(tx); err != nil {
			return err
		}
		for i, text := range c.Replies() {
			if err := tx.Send(replyMessage(c, i, text)); err != nil {
				return err
			}
		}
		return groupReply(tx, c)
	})
	if err == nil {
		c.TakeReplies()
		c.Set(doneKey, true)
	}
	return err
}

// requireRole refuses a command to anyone without one of roles.
func requireRole(roles ...models.Role) bot.Middleware {
	return func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error {
			a := actor(c)
			for _, r := range roles {
				if a.Role == r {
					return next(c)
				}
			}
			return models.Errorf(models.EForbidden, "“%s”是%s的命令，您是%s。发“帮助”查看您可用的命令", c.Command.Name, roleNames(roles), a.Role.Label())
		}
	}
}

func roleNames(roles []models.Role) string {
	s := ""
	for i, r := range roles {
		if i > 0 {
			s += "或"
		}
		s += r.Label()
	}
	return s
}

// Process handles one stored message (a batch of one). An internal failure
// is recorded on the inbox row and retried with backoff; after the last
// attempt the sender gets an apology and the message is set aside, never
// silently dropped.
func (h *Handlers) Process(ctx context.Context, msg bot.Incoming) error {
	return h.ProcessBatch(ctx, []bot.Incoming{msg})[0]
}

// ProcessBatch handles messages with one commit for all of them: each
// message's change is a savepoint of a shared transaction, so a failing
// message is rolled back and retried alone. If the commit itself fails,
// every message of the batch is retried. Who sent each message is looked
// up first: the address list is a WeCom call, and no network call happens
// while the transaction holds its locks. It returns each message's error.
func (h *Handlers) ProcessBatch(ctx context.Context, msgs []bot.Incoming) []error {
	errs := make([]error, len(msgs))
	senders := make(map[string]sender, len(msgs))
	keys := make([]string, 0, len(msgs))
	media := map[int]fetched{}
	for i, m := range msgs {
		// Media too are downloaded before the transaction opens.
		if isMedia(m) {
			media[i] = h.fetchMedia(ctx, m)
		}
		if m.Key != "" {
			keys = append(keys, m.Key)
		}
		if _, ok := senders[m.User]; ok {
			continue
		}
		w, err := h.whoIs(ctx, m.User)
		if err != nil {
			errs[i] = err
			continue
		}
		senders[m.User] = w
	}
	err := h.store.Batch(ctx, keys, func(b *models.Batch) error {
		// Reports lock their system's outage row until the commit; taken
		// message by message, two batches holding reports about the same
		// two systems in opposite orders deadlocked (a second lost each
		// time). All of a batch's are taken first, in one order.
		if err := b.Update(func(tx *models.Tx) error { return h.lockOutages(tx, msgs) }); err != nil {
			return err
		}
		for i, m := range msgs {
			w, ok := senders[m.User]
			if !ok {
				if errs[i] == nil {
					errs[i] = fmt.Errorf("handlers: sender %s unknown", m.User)
				}
				continue
			}
			c := bot.NewContext(ctx, m)
			c.Set(batchKey, b)
			c.Set(actorKey, w.actor)
			c.Set(deptKey, w.dept)
			if f, ok := media[i]; ok {
				c.Set(mediaKey, f)
			}
			errs[i] = h.router.Serve(c)
		}
		return nil
	})
	for i, m := range msgs {
		if err != nil {
			errs[i] = err
		}
		if errs[i] != nil {
			h.failed(ctx, m, errs[i])
		}
	}
	return errs
}

// failed records a failed attempt at msg; the last one gives up.
func (h *Handlers) failed(ctx context.Context, msg bot.Incoming, err error) {
	if msg.Key == "" {
		return
	}
	attempts, ferr := h.store.FailInbox(ctx, msg.Key, err.Error(), retryDelay)
	if ferr != nil {
		h.log.Error("cannot record a failed message", "msg_key", msg.Key, "err", ferr)
		return
	}
	if attempts >= maxAttempts {
		if gerr := h.giveUp(ctx, msg); gerr != nil {
			h.log.Error("cannot give up a failed message", "msg_key", msg.Key, "err", gerr)
		}
	}
}

// maxAttempts is how often a message is tried before opsbot apologises.
const maxAttempts = 5

func retryDelay(attempt int) time.Duration {
	return time.Duration(1<<min(attempt, 6)) * 5 * time.Second
}

// giveUp answers a message that kept failing and tells the supervisors.
func (h *Handlers) giveUp(ctx context.Context, msg bot.Incoming) error {
	return h.store.Update(ctx, func(tx *models.Tx) error {
		fresh, err := tx.ClaimInbox(msg.Key)
		if err != nil || !fresh {
			return err
		}
		if err := tx.Send(models.Message{To: msg.User, Key: "r:" + msg.Key + ":fail",
			Text: "抱歉，系统暂时无法处理您的消息，已通知服务主管跟进。紧急故障请直接拨打运维热线。"}); err != nil {
			return err
		}
		return tx.SendSupervisors(models.Message{Text: fmt.Sprintf("【系统告警】%s 的一条消息多次处理失败，请联系对方核实（消息编号 %s）。", msg.User, msg.Key)},
			"f:"+msg.Key, "")
	})
}

// Catalog is the system catalog the handlers recognise reports with.
func (h *Handlers) Catalog() *models.Catalog { return h.catalog }

// SetDirectory sets the address list once the WeCom client exists.
func (h *Handlers) SetDirectory(d Directory) { h.dir = d }

// SetMedia sets the media downloader (the WeCom client) and the bucket
// (nil: the database keeps attachments) once they exist.
func (h *Handlers) SetMedia(m MediaFetcher, b Bucket) { h.media, h.bucket = m, b }
