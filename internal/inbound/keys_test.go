package inbound_test

import (
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/inbound"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
)

// A key is stored only as its hash: the store never holds the secret, and a revoked key no
// longer checks.
func TestKeysAreStoredHashed(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys := inbound.NewKeys(trackstore.New(db), nil)
	key, secret, err := keys.Create("shop", "crm")
	if err != nil {
		t.Fatal(err)
	}
	other, otherSecret, _ := keys.Create("blog", "")
	if secret == otherSecret || key.ID == other.ID || !strings.HasPrefix(secret, "plk_") {
		t.Fatalf("keys %q %q, ids %q %q", secret, otherSecret, key.ID, other.ID)
	}
	_ = db.Scan([]byte{0}, []byte{0xff}, func(k, v []byte) error {
		raw := string(k) + string(v)
		if strings.Contains(raw, secret) || strings.Contains(raw, strings.TrimPrefix(secret, "plk_")) {
			t.Errorf("the store holds the secret in %q", k)
		}
		return nil
	})
	if got, ok, err := keys.Check(secret); err != nil || !ok || got.Site != "shop" || got.ID != key.ID {
		t.Fatalf("Check = %+v %v %v", got, ok, err)
	}
	for _, bad := range []string{"", "plk_", secret + "x", strings.ToUpper(secret), "Bearer " + secret} {
		if _, ok, _ := keys.Check(bad); ok {
			t.Errorf("Check(%q) accepted", bad)
		}
	}
	if list, _ := keys.List(); len(list) != 2 {
		t.Fatalf("List = %+v", list)
	}
	if err := keys.Revoke(key.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := keys.Check(secret); ok {
		t.Fatal("a revoked key still checks")
	}
	if err := keys.Revoke(key.ID); err == nil {
		t.Fatal("revoking twice succeeded")
	}
	if _, ok, _ := keys.Check(otherSecret); !ok {
		t.Fatal("revoking one key revoked another")
	}
}
