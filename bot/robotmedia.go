package bot

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"opsbot/bot/aibot"
)

// robotMediaPrefix marks the MediaID of a robot message's image or file:
// "aibot-media:<aeskey> <url>". The attachment store asks for media by id
// only; RobotMedia reads this one back.
const robotMediaPrefix = "aibot-media:"

// robotMediaID is the MediaID that stands for an encrypted robot download.
func robotMediaID(url, aesKey string) string {
	if url == "" {
		return ""
	}
	return robotMediaPrefix + aesKey + " " + url
}

// MediaGetter downloads a user's media by id; *Client is one.
type MediaGetter interface {
	GetMedia(ctx context.Context, mediaID string, limit int64) (Media, error)
}

// RobotMedia downloads what users send on either channel: a robot
// message's encrypted URL itself, anything else through App (nil without
// the app, and such media then fails).
type RobotMedia struct {
	App MediaGetter
	// HTTP fetches the robot's downloads; nil uses a client that takes
	// the proxy from HTTPS_PROXY/NO_PROXY, with a 30 s timeout.
	HTTP *http.Client
}

// GetMedia implements the handlers' MediaFetcher.
func (r RobotMedia) GetMedia(ctx context.Context, mediaID string, limit int64) (Media, error) {
	rest, ok := strings.CutPrefix(mediaID, robotMediaPrefix)
	if !ok {
		if r.App == nil {
			return Media{}, fmt.Errorf("bot: media %q: no app configured to fetch it", mediaID)
		}
		return r.App.GetMedia(ctx, mediaID, limit)
	}
	key, url, ok := strings.Cut(rest, " ")
	if !ok || url == "" {
		return Media{}, fmt.Errorf("bot: robot media: malformed id")
	}
	hc := r.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Media{}, fmt.Errorf("bot: robot media: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL is signed; keep it out of the error.
		return Media{}, fmt.Errorf("bot: robot media: download failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Media{}, fmt.Errorf("bot: robot media: HTTP %d", resp.StatusCode)
	}
	// Padding adds at most 32 bytes to the file.
	if limit > 0 && resp.ContentLength > limit+32 {
		return Media{}, fmt.Errorf("%w: %d bytes", ErrTooLarge, resp.ContentLength)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+33))
	if err != nil {
		return Media{}, fmt.Errorf("bot: robot media: read: %w", err)
	}
	if limit > 0 && int64(len(data)) > limit+32 {
		return Media{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	plain, err := aibot.DecryptMedia(data, key)
	if err != nil {
		return Media{}, err
	}
	if limit > 0 && int64(len(plain)) > limit {
		return Media{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	m := Media{Data: plain, ContentType: http.DetectContentType(plain)}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		m.Name = params["filename"]
	}
	return m, nil
}
