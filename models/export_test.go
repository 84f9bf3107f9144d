package models

// Exec runs a raw statement in the transaction (tests use it to fail one).
func (tx *Tx) Exec(sql string, args ...any) error { return tx.db.Exec(sql, args...).Error }

// SetReportRowPage sets how many tickets a page of EachReportRow holds and
// returns the function that puts it back.
func SetReportRowPage(n int) (restore func()) {
	old := reportRowPage
	reportRowPage = n
	return func() { reportRowPage = old }
}
