package configs

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// The defaults ship inside the binary so opsbot recognises systems with no files on
// disk; an operator's file replaces a default as a whole.
var (
	//go:embed systems.yaml
	defaultSystems []byte
	//go:embed departments.yaml
	defaultDepartments []byte
)

// SystemEntry is one hospital system of the contract, or one general category of IT
// support (desktops, printers, network …), as written in systems.yaml.
type SystemEntry struct {
	Code     string   `yaml:"code"`
	Name     string   `yaml:"name"`
	Category string   `yaml:"category"`
	Aliases  []string `yaml:"aliases"`
	// Hints are words that point at this entry only when nothing else in a message
	// names a system ("电脑" in "电脑打不开", but not in "电脑上收费结算不了").
	Hints []string `yaml:"hints"`
	// General is true for an entry of the `general:` list: an IT support category
	// outside the contract's 48 systems.
	General bool `yaml:"-"`
}

// DepartmentEntry is one department or place as written in departments.yaml.
type DepartmentEntry struct {
	Name     string   `yaml:"name"`
	Aliases  []string `yaml:"aliases"`
	Location string   `yaml:"location"`
}

// LoadSystems reads the contract's systems (the `systems:` list) from path, or the
// embedded default when path is "". The `general:` categories are checked too, so one
// word never means two entries, but only LoadCatalog returns them.
func LoadSystems(path string) ([]SystemEntry, error) {
	systems, _, err := loadSystemFile(path)
	return systems, err
}

// LoadCatalog reads everything a ticket may name: the contract's systems followed by
// the general IT categories (终端电脑, 打印机/外设, 网络, 账号与权限, 其他), from path or
// the embedded default when path is "".
func LoadCatalog(path string) ([]SystemEntry, error) {
	systems, general, err := loadSystemFile(path)
	if err != nil {
		return nil, err
	}
	return append(systems, general...), nil
}

// loadSystemFile decodes and checks both lists of a systems file.
func loadSystemFile(path string) (systems, general []SystemEntry, err error) {
	name, data, err := readCatalog(path, "systems.yaml", defaultSystems)
	if err != nil {
		return nil, nil, err
	}
	var doc struct {
		Systems []SystemEntry `yaml:"systems"`
		General []SystemEntry `yaml:"general"`
	}
	items, err := decodeList(name, data, "systems", &doc)
	if err != nil {
		return nil, nil, err
	}
	if len(doc.Systems) == 0 {
		return nil, nil, fmt.Errorf("%s: no systems listed under \"systems:\"", name)
	}
	generalItems, err := decodeList(name, data, "general", nil)
	if err != nil {
		return nil, nil, err
	}
	for i := range doc.General {
		doc.General[i].General = true
	}
	all := append(append([]SystemEntry(nil), doc.Systems...), doc.General...)
	if err := checkSystems(name, all, append(append([]*yaml.Node(nil), items...), generalItems...)); err != nil {
		return nil, nil, err
	}
	return doc.Systems, doc.General, nil
}

// LoadDepartments reads the department dictionary from path, or the embedded default when
// path is "".
func LoadDepartments(path string) ([]DepartmentEntry, error) {
	name, data, err := readCatalog(path, "departments.yaml", defaultDepartments)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Departments []DepartmentEntry `yaml:"departments"`
	}
	items, err := decodeList(name, data, "departments", &doc)
	if err != nil {
		return nil, err
	}
	if err := checkDepartments(name, doc.Departments, items); err != nil {
		return nil, err
	}
	return doc.Departments, nil
}

// readCatalog returns the bytes to parse and the name errors should quote.
func readCatalog(path, base string, embedded []byte) (string, []byte, error) {
	if path == "" {
		return "embedded " + base, embedded, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("read catalog: %w", err)
	}
	return path, data, nil
}

// decodeList decodes data strictly into doc and also returns the YAML nodes of the list
// under key, because the semantic checks must point at lines and a decoded struct has
// forgotten them.
func decodeList(name string, data []byte, key string, doc any) ([]*yaml.Node, error) {
	if doc == nil {
		return listNodes(name, data, key)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty", name)
		}
		// yaml.v3 lists every bad field on its own line under a heading; operators
		// want "file: line N: reason" on one line like the other errors.
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %s", name, strings.Join(te.Errors, "; "))
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return listNodes(name, data, key)
}

// listNodes returns the YAML nodes of the list under key ("" when there is none).
func listNodes(name string, data []byte, key string) ([]*yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: expected a mapping with key %q", name, key)
	}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == key && top.Content[i+1].Kind == yaml.SequenceNode {
			return top.Content[i+1].Content, nil
		}
	}
	return nil, nil
}

// field returns the value node of key in a mapping node, or the mapping itself so that
// an error about a missing key still points at the entry.
func field(item *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(item.Content); i += 2 {
		if item.Content[i].Value == key {
			return item.Content[i+1]
		}
	}
	return item
}

// aliasNode returns the node of the j-th alias of an entry, falling back to the entry.
func aliasNode(item *yaml.Node, j int) *yaml.Node { return listItem(item, "aliases", j) }

// listItem returns the node of the j-th element of the list under key, falling back to
// the entry.
func listItem(item *yaml.Node, key string, j int) *yaml.Node {
	list := field(item, key)
	if list.Kind == yaml.SequenceNode && j < len(list.Content) {
		return list.Content[j]
	}
	return item
}

// lineError formats a semantic error the way operators search for it: file, line, reason.
func lineError(name string, n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s: line %d: %s", name, n.Line, fmt.Sprintf(format, args...))
}

// FoldKey is the form under which catalog words are compared: letters lower-cased,
// full-width forms made half-width, and spaces and punctuation dropped, so that "HIS",
// "his" and "ＨＩＳ" count as the same word when looking for duplicates and when matching.
func FoldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = FoldRune(r)
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// FoldRune maps full-width ASCII to ASCII and ASCII letters to lower case; FoldKey applies
// it to every rune.
func FoldRune(r rune) rune {
	switch {
	case r >= '！' && r <= '～':
		r = r - '！' + '!'
	case r == '\u3000':
		r = ' '
	}
	if r >= 'A' && r <= 'Z' {
		r += 'a' - 'A'
	}
	return r
}

// checkSystems rejects entries a ticket could not rely on: missing code or name, a code
// that is not short upper-case ASCII, and any word (code, name or alias) claimed by two
// systems, since the recogniser could then not tell which one a reporter meant.
func checkSystems(name string, systems []SystemEntry, items []*yaml.Node) error {
	type owner struct {
		code string
		line int
	}
	codes := map[string]int{}
	words := map[string]owner{}
	claim := func(n *yaml.Node, word, code, what string) error {
		key := FoldKey(word)
		if key == "" {
			return lineError(name, n, "%s %q of system %s is empty after removing spaces and punctuation", what, word, code)
		}
		if prev, ok := words[key]; ok {
			if prev.code == code {
				return lineError(name, n, "%s %q is listed twice for system %s (first on line %d)", what, word, code, prev.line)
			}
			return lineError(name, n, "%s %q of system %s is already used by system %s on line %d", what, word, code, prev.code, prev.line)
		}
		words[key] = owner{code, n.Line}
		return nil
	}
	for i, s := range systems {
		item := items[i]
		switch {
		case strings.TrimSpace(s.Code) == "":
			return lineError(name, item, "system #%d has no code", i+1)
		case !isCode(s.Code):
			return lineError(name, field(item, "code"), "code %q must be 2 to 16 upper-case ASCII letters or digits", s.Code)
		case strings.TrimSpace(s.Name) == "":
			return lineError(name, item, "system %s has no name", s.Code)
		case strings.TrimSpace(s.Category) == "":
			return lineError(name, item, "system %s has no category", s.Code)
		case !isCode(s.Category):
			return lineError(name, field(item, "category"), "category %q of system %s must be upper-case ASCII", s.Category, s.Code)
		}
		if prev, ok := codes[s.Code]; ok {
			return lineError(name, field(item, "code"), "code %s is already used on line %d", s.Code, prev)
		}
		codes[s.Code] = field(item, "code").Line
		if err := claim(field(item, "name"), s.Name, s.Code, "name"); err != nil {
			return err
		}
		for j, a := range s.Aliases {
			// An alias equal to the system's own code is harmless and common ("LIS").
			if FoldKey(a) == FoldKey(s.Code) {
				continue
			}
			if err := claim(listItem(item, "aliases", j), a, s.Code, "alias"); err != nil {
				return err
			}
		}
		for j, h := range s.Hints {
			if err := claim(listItem(item, "hints", j), h, s.Code, "hint"); err != nil {
				return err
			}
		}
	}
	// A code is a word too: "CA" typed by a user must not mean one system by code and
	// another by alias.
	for i, s := range systems {
		if prev, ok := words[FoldKey(s.Code)]; ok && prev.code != s.Code {
			return lineError(name, field(items[i], "code"), "code %s is also an alias of system %s on line %d", s.Code, prev.code, prev.line)
		}
	}
	return nil
}

// checkDepartments rejects a department without a name and a word claimed twice.
func checkDepartments(name string, deps []DepartmentEntry, items []*yaml.Node) error {
	type owner struct {
		dep  string
		line int
	}
	words := map[string]owner{}
	for i, d := range deps {
		item := items[i]
		if strings.TrimSpace(d.Name) == "" {
			return lineError(name, item, "department #%d has no name", i+1)
		}
		check := func(n *yaml.Node, word, what string) error {
			key := FoldKey(word)
			if key == "" {
				return lineError(name, n, "%s %q of department %s is empty after removing spaces and punctuation", what, word, d.Name)
			}
			if prev, ok := words[key]; ok {
				if prev.dep == d.Name {
					return lineError(name, n, "%s %q is listed twice for department %s (first on line %d)", what, word, d.Name, prev.line)
				}
				return lineError(name, n, "%s %q of department %s is already used by department %s on line %d", what, word, d.Name, prev.dep, prev.line)
			}
			words[key] = owner{d.Name, n.Line}
			return nil
		}
		if err := check(field(item, "name"), d.Name, "name"); err != nil {
			return err
		}
		for j, a := range d.Aliases {
			if err := check(aliasNode(item, j), a, "alias"); err != nil {
				return err
			}
		}
	}
	return nil
}

// isCode reports whether s is a short upper-case ASCII identifier.
func isCode(s string) bool {
	if len(s) < 2 || len(s) > 16 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
