package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// apiAuthUserInfo turns the code of a web authorisation (OAuth2 inside
// WeCom) or of a QR-code login into the member's userid.
const apiAuthUserInfo = "auth/getuserinfo"

// ErrNotMember means the code belongs to someone outside the corp (an
// external contact or a WeChat user): they get no console.
var ErrNotMember = errors.New("wecom: not a member of the corp")

// UserIDFromCode exchanges a login code for the userid, with the app's
// access token (renewed once when WeCom refuses it). A code is valid once,
// for five minutes.
func (c *Client) UserIDFromCode(ctx context.Context, code string) (string, error) {
	if code == "" {
		return "", fmt.Errorf("wecom %s: empty code", apiAuthUserInfo)
	}
	var ans struct {
		UserID string `json:"userid"`
		OpenID string `json:"openid"`
	}
	if err := c.call(ctx, apiAuthUserInfo, http.MethodGet, url.Values{"code": {code}}, nil, &ans); err != nil {
		return "", err
	}
	if ans.UserID == "" {
		return "", ErrNotMember
	}
	return ans.UserID, nil
}
