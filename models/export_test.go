package models

// Exec runs a raw statement in the transaction (tests use it to fail one).
func (tx *Tx) Exec(sql string, args ...any) error { return tx.db.Exec(sql, args...).Error }
