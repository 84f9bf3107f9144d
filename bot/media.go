package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const (
	apiMediaUpload = "media/upload"
	apiMediaGet    = "media/get"
	// MaxUpload is WeCom's limit for an uploaded file (20 MB); larger
	// files are refused before the call.
	MaxUpload = 20 << 20
)

// UploadMedia uploads a temporary file (valid 3 days) for a file message
// and returns its media_id. mediaType is file, image, voice or video.
func (c *Client) UploadMedia(ctx context.Context, mediaType, name string, data []byte) (string, error) {
	if len(data) == 0 || len(data) > MaxUpload {
		return "", fmt.Errorf("%w: a file for WeCom has 1 byte to 20 MB, got %d", ErrBadMessage, len(data))
	}
	var ans struct {
		MediaID string `json:"media_id"`
	}
	err := c.withToken(ctx, apiMediaUpload, func(tok string) error {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		part, err := w.CreateFormFile("media", name)
		if err != nil {
			return err
		}
		part.Write(data)
		w.Close()
		q := url.Values{"access_token": {tok}, "type": {mediaType}}
		return c.raw(ctx, apiMediaUpload, http.MethodPost, q, w.FormDataContentType(), &body, func(resp *http.Response) error {
			return c.decode(apiMediaUpload, resp, &ans)
		})
	})
	if err != nil {
		return "", err
	}
	if ans.MediaID == "" {
		return "", &APIError{API: apiMediaUpload, Msg: "no media_id in the answer", err: errBadAnswer}
	}
	return ans.MediaID, nil
}

// Media is a downloaded temporary file.
type Media struct {
	Name, ContentType string
	Data              []byte
}

// GetMedia downloads a temporary file (an image or file a user sent),
// refusing one larger than limit bytes with ErrTooLarge.
func (c *Client) GetMedia(ctx context.Context, mediaID string, limit int64) (Media, error) {
	var m Media
	err := c.withToken(ctx, apiMediaGet, func(tok string) error {
		q := url.Values{"access_token": {tok}, "media_id": {mediaID}}
		return c.raw(ctx, apiMediaGet, http.MethodGet, q, "", nil, func(resp *http.Response) error {
			ct := resp.Header.Get("Content-Type")
			if strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "text/plain") {
				return c.decode(apiMediaGet, resp, nil)
			}
			if resp.ContentLength > limit {
				return fmt.Errorf("%w: %d bytes", ErrTooLarge, resp.ContentLength)
			}
			data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
			if err != nil {
				return &APIError{API: apiMediaGet, Msg: err.Error(), err: err}
			}
			if int64(len(data)) > limit {
				return fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
			}
			m = Media{ContentType: ct, Data: data}
			if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
				m.Name = params["filename"]
			}
			return nil
		})
	})
	return m, err
}

// ErrTooLarge refuses a download over the configured size.
var ErrTooLarge = errors.New("wecom: file too large")

// withToken runs call with the access token, renewing it once when WeCom
// calls it invalid or expired, as call does for JSON APIs.
func (c *Client) withToken(ctx context.Context, api string, call func(tok string) error) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return err
		}
		err = call(tok)
		var ae *APIError
		if attempt == 0 && errors.As(err, &ae) && (ae.Code == codeInvalidToken || ae.Code == codeExpiredToken) {
			c.dropToken(ctx, tok)
			continue
		}
		return err
	}
}

// raw makes one request with a body that is not JSON and hands the
// answer to read when its status is 200.
func (c *Client) raw(ctx context.Context, api, method string, query url.Values, contentType string, body io.Reader, read func(*http.Response) error) error {
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/") + "/cgi-bin/" + api
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("wecom %s: %w", api, stripURL(err))
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		err = stripURL(err)
		c.metrics.apiOutcome(api, "network")
		return &APIError{API: api, Msg: err.Error(), err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.metrics.apiOutcome(api, "http_"+strconv.Itoa(resp.StatusCode))
		return &APIError{API: api, HTTPStatus: resp.StatusCode, Msg: http.StatusText(resp.StatusCode)}
	}
	return read(resp)
}

// decode reads a JSON answer, checking its errcode.
func (c *Client) decode(api string, resp *http.Response, out any) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return &APIError{API: api, Msg: err.Error(), err: err}
	}
	var ce struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(data, &ce); err != nil || ce.ErrCode == nil {
		c.metrics.apiOutcome(api, "bad_answer")
		return &APIError{API: api, HTTPStatus: resp.StatusCode, Msg: "answer is not WeCom JSON", err: errBadAnswer}
	}
	c.metrics.apiCode(api, *ce.ErrCode)
	if *ce.ErrCode != 0 {
		return &APIError{API: api, Code: *ce.ErrCode, Msg: ce.ErrMsg, HTTPStatus: resp.StatusCode}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
