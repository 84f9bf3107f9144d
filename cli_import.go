package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"opsbot/models"
)

// importUsage is the import command's help.
const importUsage = "用法：opsbot import tickets FILE.csv（文件格式见 docs/import.md）"

// maxListedErrors bounds the bad rows printed: a wrong file can have
// thousands, and the first ones say what is wrong.
const maxListedErrors = 200

// cmdImport loads history: `opsbot import tickets FILE.csv`. Every bad row
// is listed with its line; any bad row means nothing is imported.
func cmdImport(ctx context.Context, e env, args []string) error {
	if len(args) != 2 || args[0] != "tickets" {
		return usageError{importUsage}
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	sla, err := models.LoadSLA(cfg.SLA, cfg.Location())
	if err != nil {
		return err
	}
	f, err := os.Open(args[1])
	if err != nil {
		return fmt.Errorf("打开导入文件：%w", err)
	}
	defer f.Close()
	s, err := openStore(ctx, cfg, newLogger(e.stderr, "warn"), sla)
	if err != nil {
		return err
	}
	defer s.Close()
	catalog, err := loadCatalog(ctx, cfg, s)
	if err != nil {
		return err
	}
	started := time.Now()
	p := &models.ImportParser{Catalog: catalog, Location: cfg.Location(), Now: s.Now()}
	rows, bad, err := p.ReadImport(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		listImportErrors(e.stderr, bad)
		return fmt.Errorf("%s 有 %d 行不能导入，所有工单均未导入；请修改后重新导入", args[1], len(bad))
	}
	res, err := s.ImportTickets(ctx, rows)
	if len(res.Errors) > 0 {
		listImportErrors(e.stderr, res.Errors)
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(started)
	fmt.Fprintf(e.stdout, "已导入 %d 张工单，%d 张已存在未改动，0 行有误；新工单将从 #%d 开始编号。\n", res.Imported, res.Unchanged, res.NextNumber)
	if n := res.Imported + res.Unchanged; n > 0 && elapsed > 0 {
		fmt.Fprintf(e.stdout, "用时 %.1f 秒（%.0f 行/秒）\n", elapsed.Seconds(), float64(n)/elapsed.Seconds())
	}
	return nil
}

func listImportErrors(w io.Writer, bad []models.ImportError) {
	for i, b := range bad {
		if i == maxListedErrors {
			fmt.Fprintf(w, "……另有 %d 行有误，未列出\n", len(bad)-i)
			break
		}
		fmt.Fprintln(w, b.String())
	}
}
