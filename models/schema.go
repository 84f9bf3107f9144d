package models

import (
	"context"
	"sort"
)

// Columns lists "table.column" for every column of opsbot's tables, sorted;
// tests use it to show both databases have the same schema.
func (s *Store) Columns(ctx context.Context) ([]string, error) {
	var out []string
	tables, err := s.db.WithContext(ctx).Migrator().GetTables()
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if t == "sqlite_sequence" {
			continue
		}
		cols, err := s.db.WithContext(ctx).Migrator().ColumnTypes(t)
		if err != nil {
			return nil, err
		}
		for _, c := range cols {
			out = append(out, t+"."+c.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Exec runs a raw statement; the doctor's write probe and tests use it.
func (s *Store) Exec(ctx context.Context, sql string, args ...any) error {
	return s.db.WithContext(ctx).Exec(sql, args...).Error
}

// Raw runs a read-only query into dest; the doctor's probe, cmd/seedyear
// and tests use it.
func (s *Store) Raw(ctx context.Context, dest any, sql string, args ...any) error {
	return s.db.WithContext(ctx).Raw(sql, args...).Scan(dest).Error
}
