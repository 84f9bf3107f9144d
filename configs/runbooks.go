package configs

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// builtinRunbooks are the example emergency plans shipped with opsbot.
//
//go:embed runbooks/*.md
var builtinRunbooks embed.FS

// LoadRunbook returns the emergency plan (应急响应方案) for a system: the file
// <code>.md in dir, or the built-in example when dir is empty. Each code is
// tried in turn (a system code, then its category), and ok is false when
// none has a plan.
func LoadRunbook(dir string, codes ...string) (text, code string, ok bool, err error) {
	for _, c := range codes {
		if c == "" || !validCode(c) {
			continue
		}
		var b []byte
		if dir == "" {
			b, err = fs.ReadFile(builtinRunbooks, "runbooks/"+c+".md")
		} else {
			b, err = os.ReadFile(filepath.Join(dir, c+".md"))
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", "", false, fmt.Errorf("runbook %s: %w", c, err)
		}
		return string(b), c, true, nil
	}
	return "", "", false, nil
}

// validCode keeps a code a plain file name.
func validCode(c string) bool {
	for _, r := range c {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
