package reports

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gomutex/godocx"
	"github.com/gomutex/godocx/docx"
	"github.com/gomutex/godocx/wml/ctypes"
	"github.com/gomutex/godocx/wml/stypes"
)

// Doc is a document the hospital signs (重大事件分析报告, 变更申请单): a title,
// a few header fields, sections, and the signature lines at the end. It
// renders as DOCX (WriteDOCX) and as WeCom markdown (Markdown) with the same
// content.
type Doc struct {
	Title string
	// Meta are the header fields under the title (编号, 系统, 日期, …).
	Meta     []KV
	Sections []Section
	// Signatures name who signs, one line each: "信息科负责人".
	Signatures []string
}

// KV is one labelled field.
type KV struct {
	Key, Value string
}

// Section is a heading followed, in this order, by its fields, its
// paragraphs and its table; any of them may be empty.
type Section struct {
	Heading    string
	KV         []KV
	Paragraphs []string
	Table      *Table
}

// Table is a simple grid with a header row.
type Table struct {
	Header []string
	Rows   [][]string
}

// WriteDOCX writes d as a Word document (Office Open XML) to w.
func WriteDOCX(w io.Writer, d Doc) error {
	doc, err := godocx.NewDocument()
	if err != nil {
		return fmt.Errorf("reports: docx: new: %w", err)
	}
	a4(doc)
	doc.FileMap.Store("docProps/core.xml", coreProps(d.Title))
	if _, err := doc.AddHeading(d.Title, 0); err != nil {
		return fmt.Errorf("reports: docx: title: %w", err)
	}
	if len(d.Meta) > 0 {
		kvTable(doc, d.Meta)
		doc.AddEmptyParagraph()
	}
	for _, s := range d.Sections {
		if s.Heading != "" {
			if _, err := doc.AddHeading(s.Heading, 1); err != nil {
				return fmt.Errorf("reports: docx: heading: %w", err)
			}
		}
		if len(s.KV) > 0 {
			kvTable(doc, s.KV)
		}
		for _, p := range s.Paragraphs {
			for _, line := range strings.Split(p, "\n") {
				doc.AddParagraph(line)
			}
		}
		if s.Table != nil {
			gridTable(doc, s.Table)
		}
	}
	if len(d.Signatures) > 0 {
		doc.AddEmptyParagraph()
		for _, who := range d.Signatures {
			doc.AddParagraph(signatureLine(who)).Spacing(240, 240)
		}
	}
	if err := doc.Write(w); err != nil {
		return fmt.Errorf("reports: docx: write: %w", err)
	}
	return nil
}

// A4 portrait with 2.54 cm margins, in twentieths of a point: the paper
// the hospital files; textWidth is what is left between the margins.
const (
	a4Width, a4Height = 11906, 16838
	margin            = 1440
	textWidth         = a4Width - 2*margin
)

// a4 sets the page to A4: the template is US Letter.
func a4(doc *docx.RootDoc) {
	body := doc.Document.Body
	if body.SectPr == nil {
		body.SectPr = ctypes.NewSectionProper()
	}
	w, h := uint64(a4Width), uint64(a4Height)
	body.SectPr.PageSize = &ctypes.PageSize{Width: &w, Height: &h}
	m, hf := margin, 720
	body.SectPr.PageMargin = &ctypes.PageMargin{Left: &m, Right: &m, Top: &m, Bottom: &m, Header: &hf, Footer: &hf}
}

// coreProps replaces the template's document properties (its author and
// 2013 dates) with the document's own title.
func coreProps(title string) []byte {
	var esc strings.Builder
	_ = xml.EscapeText(&esc, []byte(title))
	return []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>` + esc.String() + `</dc:title><dc:creator>opsbot</dc:creator></cp:coreProperties>`)
}

func signatureLine(who string) string {
	return who + "（签字）：____________　　日期：______年____月____日"
}

func newTable(doc *docx.RootDoc) *docx.Table {
	t := doc.AddTable()
	t.Style("TableGrid")
	t.Width(5000, stypes.TableWidthPct)
	return t
}

// cellText writes text into a cell, one paragraph per line.
func cellText(c *docx.Cell, text string, bold bool) {
	for _, line := range strings.Split(text, "\n") {
		run := c.AddEmptyPara().AddText(line)
		if bold {
			run.Bold(true)
		}
	}
}

func kvTable(doc *docx.RootDoc, kvs []KV) {
	t := newTable(doc)
	t.Grid(kvKeyWidth, textWidth-kvKeyWidth)
	for _, kv := range kvs {
		row := t.AddRow()
		cellText(row.AddCell().Width(kvKeyWidth, stypes.TableWidthDxa), kv.Key, true)
		cellText(row.AddCell(), kv.Value, false)
	}
}

// kvKeyWidth is the width of a field table's label column.
const kvKeyWidth = 2000

func gridTable(doc *docx.RootDoc, tb *Table) {
	t := newTable(doc)
	cols := len(tb.Header)
	for _, r := range tb.Rows {
		cols = max(cols, len(r))
	}
	if cols > 0 {
		widths := make([]uint64, cols)
		for i := range widths {
			widths[i] = uint64(textWidth / cols)
		}
		t.Grid(widths...)
	}
	if len(tb.Header) > 0 {
		row := t.AddRow()
		for _, h := range tb.Header {
			cellText(row.AddCell().BackgroundColor("DDEBF7"), h, true)
		}
	}
	for _, r := range tb.Rows {
		row := t.AddRow()
		for _, v := range r {
			cellText(row.AddCell(), v, false)
		}
	}
}

// Markdown is the document as WeCom markdown: the same title, fields,
// sections and rows as the DOCX. WeCom markdown has no tables, so each row
// is one line with its cells separated by "｜". Long documents may exceed a
// single message's 2048 bytes; the caller splits or attaches the DOCX.
func (d Doc) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", d.Title)
	kvLines := func(kvs []KV) {
		for _, kv := range kvs {
			fmt.Fprintf(&b, "**%s**：%s\n", kv.Key, kv.Value)
		}
	}
	kvLines(d.Meta)
	for _, s := range d.Sections {
		if s.Heading != "" {
			fmt.Fprintf(&b, "\n## %s\n", s.Heading)
		}
		kvLines(s.KV)
		for _, p := range s.Paragraphs {
			b.WriteString(p)
			b.WriteString("\n")
		}
		if s.Table != nil {
			if len(s.Table.Header) > 0 {
				fmt.Fprintf(&b, "**%s**\n", strings.Join(s.Table.Header, "｜"))
			}
			for _, r := range s.Table.Rows {
				fmt.Fprintf(&b, "> %s\n", strings.Join(r, "｜"))
			}
		}
	}
	if len(d.Signatures) > 0 {
		b.WriteString("\n")
		for _, who := range d.Signatures {
			fmt.Fprintf(&b, "%s：待签字\n", who)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// wordML is the WordprocessingML namespace.
const wordML = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

// ReadDOCXText extracts the text of a DOCX's body: one line per paragraph,
// and one line per table row with its cells separated by tabs (lines
// within a cell joined by a space).
func ReadDOCXText(r io.ReaderAt, size int64) (string, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return "", fmt.Errorf("reports: read docx: %w", err)
	}
	var doc *zip.File
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			doc = f
		}
	}
	if doc == nil {
		return "", errors.New("reports: read docx: no word/document.xml")
	}
	rc, err := doc.Open()
	if err != nil {
		return "", fmt.Errorf("reports: read docx: %w", err)
	}
	defer rc.Close()

	var out, para strings.Builder
	var row []string
	inCell := 0
	dec := xml.NewDecoder(rc)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reports: read docx: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != wordML {
				continue
			}
			switch t.Name.Local {
			case "t":
				var s string
				if err := dec.DecodeElement(&s, &t); err != nil {
					return "", fmt.Errorf("reports: read docx: %w", err)
				}
				para.WriteString(s)
			case "tab":
				para.WriteString("\t")
			case "br":
				para.WriteString("\n")
			case "tc":
				inCell++
			}
		case xml.EndElement:
			if t.Name.Space != wordML {
				continue
			}
			switch t.Name.Local {
			case "p":
				if inCell > 0 {
					if para.Len() > 0 {
						para.WriteString(" ")
					}
					continue
				}
				out.WriteString(para.String())
				out.WriteString("\n")
				para.Reset()
			case "tc":
				inCell--
				row = append(row, strings.TrimSpace(para.String()))
				para.Reset()
			case "tr":
				out.WriteString(strings.Join(row, "\t"))
				out.WriteString("\n")
				row = row[:0]
			}
		}
	}
	return out.String(), nil
}
