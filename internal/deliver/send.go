package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pathlight/pathlight/internal/automate"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/track"
)

// destState bounds one destination: at most Concurrency requests at once and at most Rate
// per second (a token bucket holding one second's worth).
type destState struct {
	sem chan struct{}

	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
}

func (d *Deliverer) dest(dest rules.Destination) *destState {
	d.mu.Lock()
	defer d.mu.Unlock()
	ds := d.dests[dest.ID]
	if ds == nil || cap(ds.sem) != dest.Concurrency || ds.rate != dest.Rate {
		// New, or changed by a rules reload: requests in flight finish on the old bounds.
		ds = &destState{sem: make(chan struct{}, max(dest.Concurrency, 1)), rate: dest.Rate, tokens: max(dest.Rate, 1)}
		d.dests[dest.ID] = ds
	}
	return ds
}

// acquire takes a request slot and a token, or reports that the destination is at its bound.
func (ds *destState) acquire(now time.Time) bool {
	select {
	case ds.sem <- struct{}{}:
	default:
		return false
	}
	if ds.rate <= 0 {
		return true
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if !ds.last.IsZero() {
		ds.tokens = min(ds.tokens+now.Sub(ds.last).Seconds()*ds.rate, max(ds.rate, 1))
	}
	ds.last = now
	if ds.tokens < 1 {
		<-ds.sem
		return false
	}
	ds.tokens--
	return true
}

func (ds *destState) release() { <-ds.sem }

// maxErrorBody is how much of a failed response's body is kept as the delivery's last error.
const maxErrorBody = 512

// attempt sends one delivery and commits the outcome.
func (d *Deliverer) attempt(ctx context.Context, ds *destState, dest rules.Destination, del *automate.Delivery) {
	status, err := d.post(ctx, dest, del)
	now := d.cfg.Now()
	guard := del.Key(false)
	var writes []track.OwnedWrite
	outcome := "delivered"
	if err == nil {
		writes = append(writes, track.OwnedWrite{Key: guard, Delete: true})
	} else {
		del.Attempts++
		del.LastStatus, del.LastError = status, err.Error()
		wait := d.cfg.Backoff.wait(del.Attempts)
		next := now.Add(wait)
		if next.Sub(time.UnixMilli(del.Created)) > d.cfg.Backoff.Horizon {
			outcome = "dead"
			del.DeadAt = now.UnixMilli()
			val, _ := del.MarshalRecord()
			writes = append(writes, track.OwnedWrite{Key: guard, Delete: true}, track.OwnedWrite{Key: del.Key(true), Value: val})
		} else {
			outcome = "failed"
			del.Next = next.UnixMilli()
			val, _ := del.MarshalRecord()
			writes = append(writes, track.OwnedWrite{Key: guard, Value: val})
		}
	}
	wrote, werr := d.cfg.Tracker.WriteOwned(del.VID, guard, writes)
	switch {
	case werr != nil:
		d.cfg.Logger.Error("delivery outcome not stored; it will be sent again", "id", del.ID, "err", werr)
		return
	case !wrote:
		return // erased while in flight
	}
	d.count(dest.ID, outcome)
	if err != nil {
		d.cfg.Logger.Warn("delivery failed", "destination", dest.ID, "id", del.ID, "attempt", del.Attempts, "outcome", outcome, "err", err)
	}
}

// post sends del; a non-2xx answer is an error, with its status.
func (d *Deliverer) post(ctx context.Context, dest rules.Destination, del *automate.Delivery) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(dest.Timeout)*time.Millisecond)
	defer cancel()
	var secret string
	if dest.SecretEnv != "" || dest.SecretFile != "" {
		s, err := d.cfg.Secret(dest)
		if err != nil {
			return 0, err
		}
		secret = s
	}
	target := dest.URL
	if dest.Format == rules.FormatMeta && secret != "" {
		// Meta takes its access token as a parameter; it is added here, at each attempt,
		// so that it is neither in the rules nor in the outbox.
		u, err := url.Parse(dest.URL)
		if err != nil {
			return 0, err
		}
		q := u.Query()
		q.Set("access_token", secret)
		u.RawQuery = q.Encode()
		target = u.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(del.Body))
	if err != nil {
		return 0, err
	}
	now := d.cfg.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Pathlight-Webhooks/1")
	req.Header.Set(standardwebhooks.HeaderWebhookID, del.ID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	switch {
	case secret == "":
	case dest.Format == rules.FormatGoogleAds:
		req.Header.Set("Authorization", "Bearer "+secret)
	case dest.Format != rules.FormatMeta:
		sig, err := Sign(secret, del.ID, now, del.Body)
		if err != nil {
			return 0, err
		}
		req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry an access token: never log it
		}
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	msg := strings.TrimSpace(string(body))
	if msg != "" {
		msg = ": " + msg
	}
	return resp.StatusCode, fmt.Errorf("HTTP %d%s", resp.StatusCode, msg)
}

// Sign returns the webhook-signature header of a message: "v1," and the base64 HMAC-SHA256
// of "id.timestamp.body" under the secret (whsec_ followed by the base64 key).
func Sign(secret, id string, at time.Time, body []byte) (string, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return "", fmt.Errorf("signing secret: %w", err)
	}
	return wh.Sign(id, at, body)
}

// envSecret reads a destination's secret from the environment variable or file it names.
func envSecret(getenv func(string) string) func(rules.Destination) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	return func(dest rules.Destination) (string, error) {
		if dest.SecretEnv != "" {
			s := strings.TrimSpace(getenv(dest.SecretEnv))
			if s == "" {
				return "", fmt.Errorf("the signing secret of destination %s: environment variable %s is not set", dest.ID, dest.SecretEnv)
			}
			return s, nil
		}
		b, err := os.ReadFile(dest.SecretFile)
		if err != nil {
			return "", fmt.Errorf("the signing secret of destination %s: %w", dest.ID, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("the signing secret of destination %s: %s is empty", dest.ID, dest.SecretFile)
		}
		return s, nil
	}
}
