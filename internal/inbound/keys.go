// Package inbound takes events from back ends (a CRM, an email tool, an order system) into
// the journeys: POST /api/v1/events with a site's API key. Each event is for a user id or a
// visitor id, with its own time; it is validated like a browser event, deduplicated by id
// and folded into the journey by the tracker, so it moves steps, stages, segments and
// conversions, counts in attribution and can fire automations. API keys are scoped to one
// site and to sending events; they are stored hashed.
package inbound

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pathlight/pathlight/internal/track"
)

// Key layout: K <SHA-256 of the key, 32 bytes> → Key (JSON). The key itself is never stored;
// a request's key is hashed and looked up.
const prefixKey = 'K'

// keyPrefix starts every API key, so that a leaked key is recognisable.
const keyPrefix = "plk_"

// Key is a stored API key: what it may do is send events for Site.
type Key struct {
	ID      string    `json:"id"` // "key_" and the first 16 hex digits of the hash
	Site    string    `json:"site"`
	Name    string    `json:"name,omitempty"`
	Created time.Time `json:"created_at"`
}

// ErrUnknownKey is returned for a key id that does not exist.
var ErrUnknownKey = errors.New("no such API key")

// Keys manages the API keys in the store.
type Keys struct {
	st  track.Store
	now func() time.Time
}

// NewKeys returns the key manager over st; now nil is time.Now.
func NewKeys(st track.Store, now func() time.Time) *Keys {
	if now == nil {
		now = time.Now
	}
	return &Keys{st: st, now: now}
}

func storeKey(hash []byte) []byte { return append([]byte{prefixKey}, hash...) }

// Create makes a key for site and returns it with the secret, which is shown this once.
func (k *Keys) Create(site, name string) (Key, string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Key{}, "", err
	}
	secret := keyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(secret))
	key := Key{ID: "key_" + hex.EncodeToString(sum[:8]), Site: site, Name: name, Created: k.now().UTC().Truncate(time.Second)}
	val, err := json.Marshal(key)
	if err != nil {
		return Key{}, "", err
	}
	if err := k.st.Write([]track.Op{{Key: storeKey(sum[:]), Value: val}}); err != nil {
		return Key{}, "", fmt.Errorf("store API key: %w", err)
	}
	return key, secret, nil
}

// Check returns the key a request presented, or false when it is no key of this server.
func (k *Keys) Check(secret string) (Key, bool, error) {
	if !strings.HasPrefix(secret, keyPrefix) || len(secret) > 100 {
		return Key{}, false, nil
	}
	sum := sha256.Sum256([]byte(secret))
	val, err := k.st.Get(storeKey(sum[:]), nil)
	if errors.Is(err, track.ErrNotFound) {
		return Key{}, false, nil
	}
	if err != nil {
		return Key{}, false, err
	}
	var key Key
	if err := json.Unmarshal(val, &key); err != nil {
		return Key{}, false, fmt.Errorf("API key record: %w", err)
	}
	return key, true, nil
}

// List returns every key, without secrets.
func (k *Keys) List() ([]Key, error) {
	out := []Key{}
	err := k.st.Scan([]byte{prefixKey}, []byte{prefixKey + 1}, func(_, v []byte) error {
		var key Key
		if json.Unmarshal(v, &key) == nil {
			out = append(out, key)
		}
		return nil
	})
	return out, err
}

// Revoke deletes the key with id; ErrUnknownKey when there is none.
func (k *Keys) Revoke(id string) error {
	var found []byte
	err := k.st.Scan([]byte{prefixKey}, []byte{prefixKey + 1}, func(sk, v []byte) error {
		var key Key
		if json.Unmarshal(v, &key) == nil && key.ID == id {
			found = append([]byte(nil), sk...)
			return track.ErrStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, track.ErrStop) {
		return err
	}
	if found == nil {
		return fmt.Errorf("%w: %s", ErrUnknownKey, id)
	}
	return k.st.Write([]track.Op{{Key: found, Delete: true}})
}
