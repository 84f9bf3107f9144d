package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	_ "github.com/go-sql-driver/mysql"  // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib"  // registers "pgx"
	_ "github.com/microsoft/go-mssqldb" // registers "sqlserver"
)

// sqlDrivers maps a probe's driver to the database/sql driver name.
var sqlDrivers = map[string]string{
	DriverPostgres:  "pgx",
	DriverMySQL:     "mysql",
	DriverSQLServer: "sqlserver",
}

// maxBodyRead bounds how much of an HTTP answer is searched for the body text.
const maxBodyRead = 1 << 20

// checker runs one check; a nil error is a pass. The error text goes into
// the alert's details, so it never contains a DSN or a password.
type checker interface {
	check(ctx context.Context) error
	close() error
}

func newChecker(p Probe) (checker, error) {
	switch {
	case p.HTTP != nil:
		return newHTTPChecker(*p.HTTP), nil
	case p.TCP != nil:
		return tcpChecker{addr: p.TCP.Address}, nil
	case p.Database != nil:
		return newSQLChecker(*p.Database)
	}
	return nil, fmt.Errorf("probe %s: no check configured", p.Name)
}

type httpChecker struct {
	c      HTTPCheck
	client *http.Client
}

func newHTTPChecker(c HTTPCheck) *httpChecker {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Probes look at intranet systems directly; a proxy from the
	// environment would test the proxy instead.
	tr.Proxy = nil
	// A fresh connection each time sees a listener that stopped accepting.
	tr.DisableKeepAlives = true
	if c.TLSSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &httpChecker{c: c, client: &http.Client{Transport: tr}}
}

func (h *httpChecker) check(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.c.URL, nil)
	if err != nil {
		return fmt.Errorf("请求无效：%w", err)
	}
	req.Header.Set("User-Agent", "opsbot-probe")
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("HTTP 请求失败：%w", redactURLError(err))
	}
	defer resp.Body.Close()
	switch {
	case h.c.Status == 0 && (resp.StatusCode < 200 || resp.StatusCode > 299):
		return fmt.Errorf("HTTP 状态 %d，期望 2xx", resp.StatusCode)
	case h.c.Status != 0 && resp.StatusCode != h.c.Status:
		return fmt.Errorf("HTTP 状态 %d，期望 %d", resp.StatusCode, h.c.Status)
	}
	if h.c.Body == "" {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyRead))
	if err != nil {
		return fmt.Errorf("读取响应失败：%w", err)
	}
	if !bytes.Contains(body, []byte(h.c.Body)) {
		return fmt.Errorf("响应中没有 %q", h.c.Body)
	}
	return nil
}

func (h *httpChecker) close() error {
	h.client.CloseIdleConnections()
	return nil
}

// redactURLError hides a password in the URL that net/http quotes.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		if u, perr := url.Parse(ue.URL); perr == nil {
			ue.URL = u.Redacted()
		}
	}
	return err
}

type tcpChecker struct{ addr string }

func (t tcpChecker) check(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return fmt.Errorf("TCP 连接失败：%w", err)
	}
	return conn.Close()
}

func (tcpChecker) close() error { return nil }

type sqlChecker struct {
	db    *sql.DB
	query string
}

func newSQLChecker(c DatabaseCheck) (*sqlChecker, error) {
	db, err := sql.Open(sqlDrivers[c.Driver], c.DSN)
	if err != nil {
		// Drivers that parse the DSN here do not quote passwords back.
		return nil, fmt.Errorf("database dsn for %s: %w", c.Driver, err)
	}
	// No idle connection: every check dials anew, so a database that
	// refuses new sessions (max connections, listener down) is caught.
	db.SetMaxIdleConns(0)
	db.SetMaxOpenConns(1)
	q := c.Query
	if q == "" {
		q = DefaultQuery
	}
	return &sqlChecker{db: db, query: q}, nil
}

func (s *sqlChecker) check(ctx context.Context) error {
	var v any
	if err := s.db.QueryRowContext(ctx, s.query).Scan(&v); err != nil {
		return fmt.Errorf("数据库查询失败：%w", err)
	}
	return nil
}

func (s *sqlChecker) close() error { return s.db.Close() }
