package handlers

import (
	"strconv"
	"strings"

	"opsbot/models"
)

// parseNumber reads a ticket number at the start of args: "12", "#12",
// "＃12" (already folded), "12号". It returns the rest of the line.
func parseNumber(args, example string) (int64, string, error) {
	s := strings.TrimSpace(args)
	s = strings.TrimPrefix(s, "#")
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, "", models.Errorf(models.EInvalid, "请写上单号，例如：%s", example)
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil || n <= 0 {
		return 0, "", models.Errorf(models.EInvalid, "单号不对，例如：%s", example)
	}
	rest := strings.TrimPrefix(s[end:], "号")
	return n, strings.TrimSpace(rest), nil
}

// parseNumbers reads every ticket number in args ("12 13 #15").
func parseNumbers(args, example string) ([]int64, error) {
	var out []int64
	for _, f := range strings.FieldsFunc(args, func(r rune) bool { return r == ' ' || r == ',' || r == '、' || r == '，' }) {
		n, rest, err := parseNumber(f, example)
		if err != nil || rest != "" {
			return nil, models.Errorf(models.EInvalid, "“%s”不是单号，例如：%s", f, example)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, models.Errorf(models.EInvalid, "请写上单号，例如：%s", example)
	}
	return out, nil
}

// who shows a person: "张三 13800000001".
func who(s models.Staff) string {
	if s.Phone == "" {
		return s.Name
	}
	return s.Name + " " + s.Phone
}
