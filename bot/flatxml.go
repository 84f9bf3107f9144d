package bot

import (
	"strings"
	"unicode/utf8"
)

// field is one element of a flat XML document.
type field struct{ name, value string }

// flatFields reads the flat XML WeCom sends, <xml> holding one level of
// elements of CDATA or plain text, without encoding/xml, whose tokenizer
// took 9 % of opsbot's CPU under load. Anything else (a declaration,
// attributes, nested elements, entities, comments, a repeated element, \r,
// a character XML does not allow) makes ok false, and the caller uses
// encoding/xml: the fast path never reads a message differently from it
// (FuzzFlatXML checks that).
func flatFields(data []byte) (fields []field, ok bool) {
	s := string(data)
	i := skipSpace(s, 0)
	if !strings.HasPrefix(s[i:], "<xml>") {
		return nil, false
	}
	i += len("<xml>")
	for {
		i = skipSpace(s, i)
		if strings.HasPrefix(s[i:], "</xml>") {
			return fields, skipSpace(s, i+len("</xml>")) == len(s)
		}
		if i >= len(s) || s[i] != '<' {
			return nil, false
		}
		j := i + 1
		for j < len(s) && isNameByte(s[j], j == i+1) {
			j++
		}
		if j == i+1 || j >= len(s) || s[j] != '>' {
			return nil, false
		}
		name := s[i+1 : j]
		i = j + 1
		var value string
		if strings.HasPrefix(s[i:], "<![CDATA[") {
			i += len("<![CDATA[")
			end := strings.Index(s[i:], "]]>")
			if end < 0 {
				return nil, false
			}
			value = s[i : i+end]
			i += end + len("]]>")
		} else {
			end := strings.IndexByte(s[i:], '<')
			if end < 0 {
				return nil, false
			}
			value = s[i : i+end]
			if strings.ContainsAny(value, "&>") {
				return nil, false
			}
			i += end
		}
		if !strings.HasPrefix(s[i:], "</") || !strings.HasPrefix(s[i+2:], name) || !strings.HasPrefix(s[i+2+len(name):], ">") {
			return nil, false
		}
		i += len(name) + 3
		if !xmlText(value) {
			return nil, false
		}
		for _, f := range fields {
			if f.name == name {
				return nil, false
			}
		}
		fields = append(fields, field{name, value})
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	return i
}

// isNameByte accepts the ASCII names WeCom uses; others take the slow path.
func isNameByte(b byte, first bool) bool {
	switch {
	case b >= 'A' && b <= 'Z', b >= 'a' && b <= 'z', b == '_':
		return true
	case b >= '0' && b <= '9':
		return !first
	}
	return false
}

// xmlText reports valid UTF-8 made of characters XML allows, without \r
// (which encoding/xml turns into \n).
func xmlText(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return false
		case r == '\t' || r == '\n':
		case r < 0x20:
			return false
		case r >= 0xFFFE && r <= 0xFFFF:
			return false
		}
	}
	return true
}
