package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestConfigFileBounds: a config file that is an alias bomb, nests too deep or is too large
// is refused with its position, before it is expanded.
func TestConfigFileBounds(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString("x0: &a0 [https://a.example, https://a.example, https://a.example, https://a.example, https://a.example]\n")
	for i := 1; i < 12; i++ {
		n, p := strconv.Itoa(i), strconv.Itoa(i-1)
		bomb.WriteString("x" + n + ": &a" + n + " [" + strings.TrimSuffix(strings.Repeat("*a"+p+", ", 10), ", ") + "]\n")
	}
	bomb.WriteString("sites: {shop: *a11}\n")
	for _, tc := range []struct {
		name, src, want string
	}{
		// 5 + 50 + … + 50,000 values fit; the first alias of the level of 500,000 crosses.
		{"bomb.yaml", bomb.String(), "bomb.yaml:6:10: the file stands for more than 100000 values once its aliases are expanded"},
		{"deep.yaml", "sites: " + strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000) + "\n", "deep.yaml:1:23: nested more than 16 levels deep"},
		{"huge.yaml", "addr: \"" + strings.Repeat("x", 1<<20) + "\"\n", "huge.yaml: larger than 1 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), tc.name)
			if err := os.WriteFile(file, []byte(tc.src), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load([]string{"--config", file}, env(nil))
			if err == nil || !strings.Contains(err.Error(), filepath.Join(filepath.Dir(file), tc.want)) {
				t.Fatalf("Load: %v; want %q", err, tc.want)
			}
		})
	}
}
