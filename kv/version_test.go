package kv

import "testing"

func TestMajorVersion(t *testing.T) {
	for info, want := range map[string]int{
		"# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n": 7,
		"# Server\r\nredis_version:6.2.14\r\n":                            6,
	} {
		if got, err := majorVersion(info); err != nil || got != want {
			t.Errorf("majorVersion(%q) = %d, %v; want %d", info, got, err, want)
		}
	}
	if _, err := majorVersion("# Server\r\n"); err == nil {
		t.Error("INFO without a version accepted")
	}
}
