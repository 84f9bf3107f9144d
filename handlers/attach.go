package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"time"

	"opsbot/bot"
	"opsbot/models"
)

// MediaFetcher downloads what users send (WeCom media/get); *bot.Client
// is one. Nil in the terminal chat: attachments are then refused politely.
type MediaFetcher interface {
	GetMedia(ctx context.Context, mediaID string, limit int64) (bot.Media, error)
}

// Bucket keeps attachment bytes outside the database (an S3-compatible
// bucket); nil keeps them in the files table.
type Bucket interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
}

// recentTicket is how long after a report a screenshot still belongs to it.
const recentTicket = 30 * time.Minute

// fetched is a user's media, downloaded (and put in the bucket) before the
// batch transaction opened: no network call happens inside it.
type fetched struct {
	file *models.File
	err  error
}

// isMedia reports whether a message carries a file to fetch.
func isMedia(m bot.Incoming) bool {
	switch m.Type {
	case "image", "voice", "video", "file":
		return m.MediaID != ""
	}
	return false
}

// errNoMedia stands for a channel that cannot download media.
var errNoMedia = errors.New("handlers: no media fetcher")

// fetchMedia downloads one message's media and, with a bucket, stores the
// bytes there, leaving the file row to be written in the transaction.
func (h *Handlers) fetchMedia(ctx context.Context, m bot.Incoming) fetched {
	if h.media == nil {
		return fetched{err: errNoMedia}
	}
	got, err := h.media.GetMedia(ctx, m.MediaID, h.cfg.Attachments.MaxBytes)
	if err != nil {
		if !errors.Is(err, bot.ErrTooLarge) {
			h.log.Warn("media download failed", "msg_key", m.Key, "wecom_user", m.User, "err", err)
		}
		return fetched{err: err}
	}
	sum := sha256.Sum256(got.Data)
	f := &models.File{Name: mediaName(m, got), Mime: got.ContentType, Size: int64(len(got.Data)), SHA256: hex.EncodeToString(sum[:]),
		Data: got.Data, Kind: models.FileAttachment, UploadedBy: m.User}
	if h.bucket != nil {
		key := fmt.Sprintf("attachments/%s/%s%s", h.store.Now().UTC().Format("2006/01/02"), f.SHA256[:32], path.Ext(f.Name))
		if err := h.bucket.Put(ctx, key, got.Data, got.ContentType); err != nil {
			h.log.Warn("attachment bucket put failed", "msg_key", m.Key, "err", err)
			return fetched{err: err}
		}
		f.Data, f.StoreKey = nil, key
	}
	return fetched{file: f}
}

// mediaName is the name a file is kept under: its own, or one saying what
// it is and when it came.
func mediaName(m bot.Incoming, got bot.Media) string {
	if got.Name != "" {
		return got.Name
	}
	stamp := m.CreateTime.Format("20060102-150405")
	switch m.Type {
	case "image":
		return "截图-" + stamp + ".jpg"
	case "voice":
		format := m.Format
		if format == "" {
			format = "amr"
		}
		return "语音-" + stamp + "." + format
	case "video":
		return "视频-" + stamp + ".mp4"
	}
	return "文件-" + stamp
}

// mediaWord names what was sent, for replies.
func mediaWord(typ string) string {
	switch typ {
	case "image":
		return "截图"
	case "voice":
		return "语音"
	case "video":
		return "视频"
	}
	return "文件"
}

// attachment files an image, voice, video or file message: into the
// sender's report in progress, else onto their newest open ticket of the
// last 30 minutes, else it starts a report.
func (h *Handlers) attachment(c *bot.Context) error {
	got, _ := c.Get(mediaKey).(fetched)
	word := mediaWord(c.Msg.Type)
	return h.tx(c, func(tx *models.Tx) error {
		if got.file == nil {
			switch {
			case errors.Is(got.err, bot.ErrTooLarge):
				c.Replyf("这个%s太大了（超过 %s），没有收下。请压缩或截取关键部分后重发，也可以直接用文字描述。", word, models.SizeText(h.cfg.Attachments.MaxBytes))
			case errors.Is(got.err, errNoMedia):
				c.Replyf("这里暂时收不了%s，请用文字描述故障，例如：报修 门诊收费 3号窗口打印不了发票。", word)
			default:
				c.Replyf("%s没能收到，请重发一次。", word)
			}
			return nil
		}
		if c.Msg.Type == "voice" {
			defer c.Reply("机器人听不懂语音，请再用文字说一下是哪个系统、什么问题。")
		}
		f := *got.file
		in, err := h.loadIntake(tx, c)
		if err != nil {
			return err
		}
		if in != nil {
			if err := tx.SaveFile(&f); err != nil {
				return err
			}
			in.Files = append(in.Files, f.ID)
			c.Replyf("收到%s，会附在这次报修里。", word)
			return h.saveIntake(tx, c, in)
		}
		t, err := tx.LatestOpenTicket(c.User(), tx.Now().Add(-recentTicket))
		if err != nil {
			return err
		}
		if t != nil {
			f.TicketID = &t.ID
			if err := tx.SaveFile(&f); err != nil {
				return err
			}
			if _, _, err := tx.Supplement(t.ID, actor(c), "发送了"+word+"："+f.Name); err != nil {
				return err
			}
			if t.AssigneeID == "" {
				c.Replyf("已把%s附到工单 #%d，接单的工程师会看到。", word, t.ID)
				return nil
			}
			c.Replyf("已把%s附到工单 #%d，已转给 %s。", word, t.ID, staffName(tx, t.AssigneeID))
			return h.sendAttachments(tx, c, t.ID, t.AssigneeID, []models.File{f})
		}
		if err := tx.SaveFile(&f); err != nil {
			return err
		}
		if c.Msg.Type != "voice" {
			c.Replyf("收到%s，请说一下是哪个系统、什么问题。", word)
		}
		return h.saveIntake(tx, c, &intake{Step: "describe", Asked: []string{"describe"}, Files: []int64{f.ID}, Kind: models.KindFault, Priority: models.PriorityMedium})
	})
}

// sendAttachments sends a ticket's files (or the given ones) to to.
func (h *Handlers) sendAttachments(tx *models.Tx, c *bot.Context, ticketID int64, to string, files []models.File) error {
	if files == nil {
		var err error
		if files, err = tx.FilesOf(ticketID); err != nil {
			return err
		}
	}
	for _, f := range files {
		if f.Kind != models.FileAttachment {
			continue
		}
		err := tx.Send(models.Message{To: to, FileID: f.ID, TicketID: ticketID, Text: fmt.Sprintf("工单 #%d 的附件：%s", ticketID, f.Name),
			Key: fmt.Sprintf("file:%s:%d:%s", c.Msg.Key, f.ID, to)})
		if err != nil {
			return err
		}
	}
	return nil
}
