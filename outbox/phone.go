package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"opsbot/bot"
	"opsbot/models"
)

// PhoneGateway posts urgent messages to an SMS/phone provider's webhook as
// JSON: {"to": "138…", "text": "…", "ticket": 12}. The provider turns them
// into a text message or a voice call.
type PhoneGateway struct {
	URL   string
	Token string // sent as "Authorization: Bearer <token>" when set
	HTTP  *http.Client
}

type phoneRequest struct {
	To     string `json:"to"`
	Text   string `json:"text"`
	Ticket int64  `json:"ticket,omitempty"`
}

// Deliver implements Deliverer for recipients "phone:<number>".
func (g *PhoneGateway) Deliver(ctx context.Context, m models.OutboxMessage) (string, error) {
	body := phoneRequest{To: strings.TrimPrefix(m.Recipient, models.PhonePrefix), Text: m.Content}
	if m.TicketID != nil {
		body.Ticket = *m.TicketID
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(b))
	if err != nil {
		return "", Permanent{err}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	c := g.HTTP
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL may carry a key; keep it out of logs and rows.
		return "", fmt.Errorf("phone gateway: request failed")
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	switch {
	case resp.StatusCode/100 == 2:
		return "", nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return "", fmt.Errorf("phone gateway: HTTP %d", resp.StatusCode)
	}
	return "", Permanent{fmt.Errorf("phone gateway: HTTP %d", resp.StatusCode)}
}

// Route sends each message through the deliverer for its recipient:
// phone numbers to the gateway, "robot:" recipients and the updates of
// cards clicked in the robot's chat to the robot, the ops group to the
// robot when RobotOps, and everyone else to the app (WeCom), or to the
// robot when there is no app.
type Route struct {
	WeCom Deliverer
	Phone Deliverer
	Robot Deliverer
	// RobotOps sends OpsGroup messages through Robot (a robot group chat
	// is the ops group).
	RobotOps bool
}

// Deliver implements Deliverer.
func (r Route) Deliver(ctx context.Context, m models.OutboxMessage) (string, error) {
	if strings.HasPrefix(m.Recipient, models.PhonePrefix) {
		if r.Phone == nil {
			return "", Permanent{fmt.Errorf("no phone gateway configured")}
		}
		return r.Phone.Deliver(ctx, m)
	}
	if r.viaRobot(m) {
		if r.Robot == nil {
			return "", Permanent{fmt.Errorf("no smart robot configured")}
		}
		return r.Robot.Deliver(ctx, m)
	}
	return r.WeCom.Deliver(ctx, m)
}

// viaRobot reports whether m goes through the smart robot.
func (r Route) viaRobot(m models.OutboxMessage) bool {
	if strings.HasPrefix(m.Recipient, models.PhonePrefix) {
		return false
	}
	return strings.HasPrefix(m.Recipient, models.RobotPrefix) ||
		(m.MsgType == models.MsgCardUpdate && bot.IsRobotRef(m.ResponseCode)) ||
		(m.Recipient == models.OpsGroup && r.RobotOps) ||
		r.WeCom == nil
}

// Hold implements Gate: a message for the robot waits while the robot
// cannot send.
func (r Route) Hold(m models.OutboxMessage) (time.Duration, bool) {
	if g, ok := r.Robot.(Gate); ok && r.viaRobot(m) {
		return g.Hold(m)
	}
	return 0, false
}
