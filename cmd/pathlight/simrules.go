package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pathlight/pathlight/internal/rules"
)

// simRules is what a simulation takes from the rules the server runs: the surveys its
// visitors answer, the experiments' slots its pages ask for, and the props that carry a
// conversion's value.
type simRules struct {
	surveys         []rules.SurveyInfo
	experimentSlots []string
	valueProps      []string // besides "value"
	// Steps the demo shop would not reach by itself: the custom events and pages they ask
	// for, and the events of conversion steps, sent at the purchase.
	events, pages, conversions []string
}

// The custom events and pages of the demo shop.
var (
	simShopEvents = []string{"add_to_cart", "begin_checkout", "add_shipping_info", "purchase", "signup"}
	simShopPages  = []string{"/", simProduct, "/pricing", "/signup", "/cart", "/checkout", "/checkout/pay", "/thanks"}
)

// rulesStatusReply is the part of GET /api/v1/rules a simulation reads.
type rulesStatusReply struct {
	Version     string                 `json:"version"`
	Steps       []rules.StepInfo       `json:"steps"`
	Surveys     []rules.SurveyInfo     `json:"surveys"`
	Experiments []rules.ExperimentInfo `json:"experiments"`
}

// newSimRules picks what a simulation of site needs from the rules' descriptions: the
// surveys, experiments and steps that serve the site.
func newSimRules(site string, steps []rules.StepInfo, surveys []rules.SurveyInfo, exps []rules.ExperimentInfo) simRules {
	var r simRules
	for _, sv := range surveys {
		if rules.Serves(sv.Sites, site) {
			r.surveys = append(r.surveys, sv)
		}
	}
	for _, x := range exps {
		if x.Slot != "" && rules.Serves(x.Sites, site) && !slices.Contains(r.experimentSlots, x.Slot) {
			r.experimentSlots = append(r.experimentSlots, x.Slot)
		}
	}
	add := func(list []string, v string) []string {
		if v == "" || slices.Contains(list, v) {
			return list
		}
		return append(list, v)
	}
	for _, s := range steps {
		if !rules.Serves(s.Sites, site) {
			continue
		}
		if s.Conversion && s.ValueProp != "value" {
			r.valueProps = add(r.valueProps, s.ValueProp)
		}
		switch {
		case s.Event != "" && slices.Contains(simShopEvents, s.Event):
		case s.Event != "" && s.Conversion:
			r.conversions = add(r.conversions, s.Event)
		case s.Event != "":
			r.events = add(r.events, s.Event)
		}
		if s.Path != "" && !slices.Contains(simShopPages, s.Path) {
			r.pages = add(r.pages, s.Path)
		}
		// A step on pages under a path (`$regex: ^/docs/`) that no page of the shop is under is
		// reached by a visit to a page there.
		under, isUnder := strings.CutSuffix(s.PathExample, "/example")
		if s.Path == "" && s.PathExample != "" && !slices.ContainsFunc(simShopPages, func(p string) bool {
			return p == s.PathExample || isUnder && strings.HasPrefix(p, under+"/")
		}) {
			r.pages = add(r.pages, s.PathExample)
		}
	}
	return r
}

// serverRules asks a running server for the rules it runs for site.
func serverRules(ctx context.Context, server, token, site string) (simRules, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/api/v1/rules", nil)
	if err != nil {
		return simRules{}, "", exitError{code: 2, msg: "pathlight simulate: " + err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return simRules{}, "", fmt.Errorf("read the server's rules: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return simRules{}, "", fmt.Errorf("read the server's rules: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return simRules{}, "", apiError(resp.StatusCode, b)
	}
	var st rulesStatusReply
	if err := json.Unmarshal(b, &st); err != nil {
		return simRules{}, "", fmt.Errorf("read the server's rules: %w", err)
	}
	return newSimRules(site, st.Steps, st.Surveys, st.Experiments), st.Version, nil
}

// dirRules reads the rules of a directory that serve site, for a simulation written to a
// file. A missing directory not given with --rules is a warning: the traffic then answers no
// survey and asks for the demo pages' slots only.
func dirRules(dir, site string, given bool, stderr io.Writer) (simRules, string, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) && !given {
		fmt.Fprintf(stderr, "pathlight simulate: warning: no rules directory %s; the traffic answers no survey (give --rules)\n", dir)
		return simRules{}, rules.Empty().Version(), nil
	}
	set, err := rules.LoadDir(dir)
	if err != nil {
		return simRules{}, "", exitError{code: 1, msg: "pathlight simulate: the rules in " + dir + " are invalid:\n" + indent(err.Error())}
	}
	return newSimRules(site, set.Steps(), set.Surveys(), set.Experiments()), set.Version(), nil
}
