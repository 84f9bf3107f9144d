package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"opsbot/handlers"
	"opsbot/models"
	"opsbot/reports"
)

// cmdChange exports a change request form (变更申请单) as DOCX:
// opsbot change N --out F.docx.
func cmdChange(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("change", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("out", "", "write the form to this DOCX file")
	var num string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		num, args = args[0], args[1:]
	}
	const use = "用法：opsbot change 3 --out 变更申请单-3.docx"
	if err := fs.Parse(args); err != nil {
		return usageError{use}
	}
	if num == "" && fs.NArg() > 0 {
		num = fs.Arg(0)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(num, "#"), 10, 64)
	if err != nil || id <= 0 || *out == "" {
		return usageError{use}
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	s, loc, err := openReadStore(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	cat, err := loadCatalog(ctx, cfg, s)
	if err != nil {
		return err
	}
	var doc reports.Doc
	if err := s.View(ctx, func(tx *models.Tx) error {
		var err error
		doc, err = handlers.ChangeRequestDoc(tx, id, cat, loc)
		return err
	}); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := reports.WriteDOCX(&buf, doc); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("change: write %s: %w", *out, err)
	}
	fmt.Fprintf(e.stdout, "已导出变更 #%d 的变更申请单：%s\n", id, *out)
	return nil
}
