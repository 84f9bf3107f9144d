package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// Probe calls WeCom's API bare, for `opsbot doctor` and `opsbot staff
// import`: no token cache, no retries, no token renewal, and every answer's
// HTTP Date is kept, so that a diagnosis sees exactly what WeCom said.
type Probe struct {
	// Base is the API base (DefaultAPIBase or an intranet proxy).
	Base string
	// HTTP is the client; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now reads the local clock when an answer arrives; nil means time.Now.
	Now func() time.Time
}

// ProbeAnswer is what a Probe call learnt besides its payload: WeCom's clock
// (the HTTP Date header, zero when absent) and the local clock when the
// answer arrived, so the two can be compared.
type ProbeAnswer struct {
	ServerDate time.Time
	LocalAt    time.Time
}

// ProbeToken is a fetched access token.
type ProbeToken struct {
	Value     string
	ExpiresIn int
	ProbeAnswer
}

// GetToken asks for an access token; a refusal is an *APIError carrying
// WeCom's errcode and errmsg (40013 corp id, 40001/40091 secret, 60020 IP).
func (p Probe) GetToken(ctx context.Context, corpID, secret string) (ProbeToken, error) {
	var ans struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	a, err := p.get(ctx, apiGetToken, url.Values{"corpid": {corpID}, "corpsecret": {secret}}, &ans)
	if err != nil {
		return ProbeToken{ProbeAnswer: a}, err
	}
	return ProbeToken{Value: ans.AccessToken, ExpiresIn: ans.ExpiresIn, ProbeAnswer: a}, nil
}

// GetUser reads one member with user/get (60111 unknown userid, 60011 or
// 40003 outside the app's visible range).
func (p Probe) GetUser(ctx context.Context, token, userID string) (DirectoryMember, error) {
	var m DirectoryMember
	_, err := p.get(ctx, apiUserGet, url.Values{"access_token": {token}, "userid": {userID}}, &m)
	return m, err
}

// DirectoryDepartment is one entry of department/list.
type DirectoryDepartment struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	ParentID int    `json:"parentid"`
}

// Departments lists the departments the app can see (department/list);
// id 0 means all, else that department and those below it.
func (p Probe) Departments(ctx context.Context, token string, id int) ([]DirectoryDepartment, error) {
	q := url.Values{"access_token": {token}}
	if id > 0 {
		q.Set("id", strconv.Itoa(id))
	}
	var ans struct {
		Department []DirectoryDepartment `json:"department"`
	}
	_, err := p.get(ctx, "department/list", q, &ans)
	return ans.Department, err
}

// DirectoryMember is a member as user/get, user/list or user/simplelist return it.
// Since 20 June 2022 WeCom leaves mobile, gender, email, biz_mail, avatar,
// qr_code and address empty for self-built apps created after that date.
type DirectoryMember struct {
	UserID     string `json:"userid"`
	Name       string `json:"name"`
	Department []int  `json:"department"`
	Position   string `json:"position,omitempty"`
	Mobile     string `json:"mobile,omitempty"`
	Email      string `json:"email,omitempty"`
	BizMail    string `json:"biz_mail,omitempty"`
	Telephone  string `json:"telephone,omitempty"`
	Gender     string `json:"gender,omitempty"`
	// Status is 1 active, 2 disabled, 4 not yet activated, 5 left.
	Status int `json:"status,omitempty"`
}

// DepartmentMembers lists the members of a department with user/list (the
// detailed list); when WeCom refuses that API it falls back to
// user/simplelist (userid, name, departments only). detailed says which
// answered.
func (p Probe) DepartmentMembers(ctx context.Context, token string, deptID int, fetchChild bool) (members []DirectoryMember, detailed bool, err error) {
	q := url.Values{"access_token": {token}, "department_id": {strconv.Itoa(deptID)}}
	if fetchChild {
		q.Set("fetch_child", "1")
	}
	var ans struct {
		UserList []DirectoryMember `json:"userlist"`
	}
	_, err = p.get(ctx, "user/list", q, &ans)
	if err == nil {
		return ans.UserList, true, nil
	}
	// Only a refusal (an errcode) is worth the simple list; a network
	// failure would fail again.
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code == 0 {
		return nil, false, err
	}
	ans.UserList = nil
	if _, err2 := p.get(ctx, "user/simplelist", q, &ans); err2 != nil {
		return nil, false, fmt.Errorf("%w (user/list: %v)", err2, err)
	}
	return ans.UserList, false, nil
}

// get makes one GET to base/cgi-bin/api and decodes a successful answer
// into out; failures are *APIError like the Client's.
func (p Probe) get(ctx context.Context, api string, q url.Values, out any) (ProbeAnswer, error) {
	var a ProbeAnswer
	base := p.Base
	if base == "" {
		base = DefaultAPIBase
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return a, &APIError{API: api, Msg: fmt.Sprintf("bad API base %q", base), err: errors.New("bad API base")}
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/cgi-bin/" + api
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return a, &APIError{API: api, Msg: stripURL(err).Error(), err: stripURL(err)}
	}
	hc := p.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL holds the secret or the token: keep it out of the error.
		err = stripURL(err)
		return a, &APIError{API: api, Msg: err.Error(), err: err}
	}
	defer resp.Body.Close()
	a.LocalAt = time.Now()
	if p.Now != nil {
		a.LocalAt = p.Now()
	}
	a.ServerDate, _ = http.ParseTime(resp.Header.Get("Date"))
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode != http.StatusOK {
		return a, &APIError{API: api, HTTPStatus: resp.StatusCode, Msg: http.StatusText(resp.StatusCode)}
	}
	if err != nil {
		return a, &APIError{API: api, HTTPStatus: resp.StatusCode, Msg: err.Error(), err: err}
	}
	var ce struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(data, &ce); err != nil || ce.ErrCode == nil {
		return a, &APIError{API: api, HTTPStatus: resp.StatusCode, Msg: "answer is not WeCom JSON", err: errBadAnswer}
	}
	if *ce.ErrCode != 0 {
		return a, &APIError{API: api, Code: *ce.ErrCode, Msg: ce.ErrMsg, HTTPStatus: resp.StatusCode}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return a, fmt.Errorf("wecom %s: decode answer: %w", api, err)
		}
	}
	return a, nil
}

// EchoRequest builds the query of a URL verification request as WeCom
// sends it when an admin saves the callback URL: echo encrypted with this
// app's key, signed with its token. opsbot doctor --url sends it to itself
// through the public URL to prove the whole path.
func (c *Crypto) EchoRequest(echo, timestamp, nonce string) (url.Values, error) {
	random := make([]byte, 16)
	if _, err := io.ReadFull(c.randomSrc, random); err != nil {
		return nil, fmt.Errorf("wecom echo: random: %w", err)
	}
	enc, err := util.EncryptMsg(random, []byte(echo), c.corpID, c.aesKey)
	if err != nil {
		return nil, fmt.Errorf("wecom echo: %w", err)
	}
	return url.Values{
		"msg_signature": {util.Signature(c.token, timestamp, nonce, string(enc))},
		"timestamp":     {timestamp},
		"nonce":         {nonce},
		"echostr":       {string(enc)},
	}, nil
}
