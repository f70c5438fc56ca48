package track

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// VIDLen is the length of a visitor id: 128 random bits in lower-case hex.
const VIDLen = 32

// NewVID returns a fresh random visitor id.
func NewVID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// ValidVID reports whether s has the shape of a visitor id (32 lower-case hex digits). Ids of
// any other shape from a cookie or a body are ignored, never trusted.
func ValidVID(s string) bool {
	if len(s) != VIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// saltTTL keeps each day's salt a little past the day, for hits whose clocks straddle midnight;
// after that it is gone and the day's hashes can no longer be recomputed from an IP address.
const saltTTL = 50 * time.Hour

// salts hands out the secret salt of each UTC day for cookieless ids. Salts live in the store so
// that every restart within a day gives the same visitor ids, and expire so they cannot be
// recovered later.
type salts struct {
	st  Store
	src SaltSource // the fleet's, in cluster mode; nil: st

	mu   sync.Mutex
	day  string
	salt []byte
}

func (s *salts) get(now time.Time) ([]byte, error) {
	day := now.UTC().Format("2006-01-02")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.day == day {
		return s.salt, nil
	}
	if s.src != nil {
		fresh := make([]byte, 32)
		_, _ = rand.Read(fresh)
		salt, err := s.src.Salt(day, fresh)
		if err != nil {
			return nil, fmt.Errorf("cookieless salt for %s: %w", day, err)
		}
		s.day, s.salt = day, salt
		return salt, nil
	}
	key := metaKey(nil, "salt/"+day)
	salt, err := s.st.Get(key, nil)
	if errors.Is(err, ErrNotFound) {
		salt = make([]byte, 32)
		_, _ = rand.Read(salt)
		err = s.st.Write([]Op{{Key: key, Value: salt, TTL: saltTTL}})
	}
	if err != nil {
		return nil, fmt.Errorf("cookieless salt for %s: %w", day, err)
	}
	s.day, s.salt = day, salt
	return salt, nil
}

// cookielessVID derives the visitor id of a cookieless hit: a keyed hash of the site, the IP
// address and the user agent under the day's salt, so the same browser keeps one id for a day
// and nobody can link days or recover the address.
func cookielessVID(salt []byte, site string, ip netip.Addr, ua string) string {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(site))
	m.Write([]byte{0})
	b, _ := ip.MarshalBinary()
	m.Write(b)
	m.Write([]byte{0})
	m.Write([]byte(ua))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0])[:16])
}
