package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

const reportUsage = `Usage: pathlight report <name> [flags]

Prints a report: overview, journey, funnel, paths, attribution, ttc, health, cac, surveys,
experiments or micro. It reads a stopped server's data directory (--data, with the rules of
--rules), or asks a running server (--server and --token, or PATHLIGHT_ADMIN_TOKEN).

Examples:
  pathlight report overview --from 2026-03-01 --to 2026-04-01
  pathlight report attribution --model markov --order 2 --format csv
  pathlight report funnel --funnel purchase --breakdown channel --server http://127.0.0.1:8080 --token …

Flags:
`

// reportOptions are the options of `pathlight report` that become report options, with the
// names the API uses.
var reportOptions = []struct{ flag, help string }{
	{"model", "attribution model: all, first_touch, last_touch, last_non_direct, linear, position_based, time_decay, markov, shapley"},
	{"order", "Markov chain order (1 to 8)"},
	{"lookback", "lookback window of conversions, e.g. 30d or 720h"},
	{"funnel", "funnel id of the rules (default: the first)"},
	{"breakdown", "funnel breakdown: channel, device, country, segment or arm:<experiment>"},
	{"steps", "comma-separated steps: conversion steps counted (paths, attribution, ttc, cac) or an ad-hoc funnel"},
	{"limit", "rows of the paths report (default 50)"},
	{"paths", "top session paths of the journey map (default 10)"},
	{"max-steps", "Markov cut-off: 0 (exact), a number of steps, or package"},
	{"game", "Shapley game: counting or conversion_rate"},
}

// report runs `pathlight report`.
func reportCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	name := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "start of the period: RFC 3339, a date (2026-03-01) or Unix ms (default: 30 days before --to)")
	to := fs.String("to", "", "end of the period, excluded (default: the end of today, UTC: the last 30 days are today and the 29 days before)")
	site := fs.String("site", "", "site id (default: every site)")
	format := fs.String("format", "table", "output: table, json or csv (csv prints the report's main table)")
	data := fs.String("data", "./data", "data directory of a stopped server")
	rulesDir := fs.String("rules", "./rules", "rules directory, with --data")
	server := fs.String("server", "", "URL of a running server, instead of --data")
	tok := fs.String("token", "", "admin token of --server (default: $PATHLIGHT_ADMIN_TOKEN)")
	var extra optionList
	fs.Var(&extra, "o", "any other report option as name=value, repeatable (e.g. -o keep_repeats=1)")
	opts := map[string]*string{}
	for _, o := range reportOptions {
		opts[o.flag] = fs.String(o.flag, "", o.help)
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, reportUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if name == "" && fs.NArg() > 0 {
		// The name after the flags: flags may follow it too.
		name = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return usageError(err)
		}
	}
	if fs.NArg() > 0 {
		// Parsing stops at the first argument that is not a flag: whatever follows it would
		// be ignored without a word.
		return exitError{code: 2, msg: fmt.Sprintf("pathlight report: unexpected argument %q: name one report, then flags", fs.Arg(0))}
	}
	if name == "" {
		fs.Usage()
		return exitError{code: 2, msg: "pathlight report: name a report: " + analytics.ReportNames()}
	}
	if *format != "table" && *format != "json" && *format != "csv" {
		return exitError{code: 2, msg: fmt.Sprintf("pathlight report: --format %q: want table, json or csv", *format)}
	}
	if _, err := analytics.NewPayload(name); err != nil {
		return exitError{code: 2, msg: "pathlight report: " + err.Error()}
	}
	values := map[string]string{"from": *from, "to": *to, "site": *site}
	for _, o := range reportOptions {
		values[strings.ReplaceAll(o.flag, "-", "_")] = *opts[o.flag]
	}
	for k, v := range extra {
		values[k] = v
	}
	if name == "paths" && *format == "csv" && values["limit"] == "" {
		// The CSV is the ChannelAttribution path file that `pathlight attribution --paths`
		// reads: every path, not the top 50 the table shows.
		values["limit"] = strconv.Itoa(maxPathRows)
	}

	var res *analytics.Result
	var raw []byte
	var err error
	if *server != "" {
		token := *tok
		if token == "" {
			token = getenv("PATHLIGHT_ADMIN_TOKEN")
		}
		res, raw, err = remoteReport(*server, token, name, values)
	} else {
		rulesGiven := false
		fs.Visit(func(f *flag.Flag) { rulesGiven = rulesGiven || f.Name == "rules" })
		set, rerr := loadReportRules(*rulesDir, rulesGiven, stderr)
		if rerr != nil {
			return rerr
		}
		res, err = localReport(*data, *rulesDir, set, name, values, getenv)
	}
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		if raw == nil {
			raw, err = json.Marshal(res)
			if err != nil {
				return err
			}
		}
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		b.WriteByte('\n')
		_, err = stdout.Write(b.Bytes())
		return err
	case "csv":
		if p, ok := res.Data.(*analytics.PathsReport); ok {
			return writePathFile(stdout, stderr, p)
		}
		return writeCSV(stdout, tablesOf(res.Data)[0])
	}
	fmt.Fprintf(stdout, "%s, %s to %s%s\n\n", res.Report, fmtTime(res.From), fmtTime(res.To), siteNote(res.Site))
	return writeTables(stdout, tablesOf(res.Data))
}

// optionList collects -o name=value flags.
type optionList map[string]string

// String implements flag.Value.
func (o *optionList) String() string { return "" }

// Set implements flag.Value: each use of the flag adds one option.
func (o *optionList) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want name=value", v)
	}
	if *o == nil {
		*o = optionList{}
	}
	(*o)[k] = val
	return nil
}

// usageError maps a flag parse error to an exit, help to success.
func usageError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return exitError{code: 2}
}

func siteNote(site string) string {
	if site == "" {
		return ""
	}
	return " (site " + site + ")"
}

func fmtTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04 MST")
}

// localReport computes a report from a stopped server's data directory, with the rules set
// (loaded from rulesDir, which may also hold spend).
func localReport(dataDir, rulesDir string, set *rules.Set, name string, values map[string]string, getenv func(string) string) (*analytics.Result, error) {
	if _, err := analytics.NewPayload(name); err != nil {
		return nil, exitError{code: 2, msg: "pathlight report: " + err.Error()}
	}
	dir := filepath.Join(dataDir, "badger")
	if _, err := os.Stat(dir); err != nil {
		return nil, exitError{code: 1, msg: fmt.Sprintf("pathlight report: no Pathlight data in %s (%v); give --data the server's data directory, or ask a running server with --server", dataDir, err)}
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) || strings.Contains(err.Error(), "directory lock") {
			return nil, exitError{code: 1, msg: fmt.Sprintf("pathlight report: %s is in use by a running server; ask it instead:\n  pathlight report %s --server %s --token <admin token>", dataDir, name, serverHint(getenv))}
		}
		return nil, err
	}
	defer db.Close()
	retention := 400 * 24 * time.Hour // the server's default, for records this command writes
	if d, err := config.ParseDuration(getenv("PATHLIGHT_RETENTION")); err == nil && d > 0 {
		retention = d
	}
	tr := track.New(trackstore.New(db), nil, set, track.Config{Retention: retention})
	svc := analytics.New(tr, nil, analytics.Options{Spend: analytics.SpendFiles(dataDir, rulesDir), Store: trackstore.New(db), Retention: retention})
	// The report store the server kept: read as it is, built first when the server never
	// made one, rebuilt when it stopped without closing it.
	if err := svc.Open(); err != nil {
		return nil, err
	}
	defer svc.Close()
	q, err := analytics.NewQuery(values, time.Now())
	if err != nil {
		return nil, exitError{code: 2, msg: "pathlight report: " + err.Error()}
	}
	res, err := svc.Report(name, q)
	var qe *analytics.QueryError
	if errors.As(err, &qe) {
		return nil, exitError{code: 2, msg: "pathlight report: " + err.Error()}
	}
	return res, err
}

// serverHint is the URL of the running server to suggest: the address the server is
// configured with in the environment (PATHLIGHT_ADDR, as `pathlight serve` reads it), or a
// placeholder, since which server holds the directory cannot be told from it.
func serverHint(getenv func(string) string) string {
	addr := getenv("PATHLIGHT_ADDR")
	if addr == "" {
		return "http://<host:port of the server>"
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port) // listening everywhere: reach it locally
	}
	return "http://" + addr
}

// loadReportRules loads the rules the report takes its definitions from. A directory given
// with --rules must exist; without --rules a missing ./rules means no rules (reports without
// funnels, steps, surveys or experiments), which stderr is told.
func loadReportRules(dir string, given bool, stderr io.Writer) (*rules.Set, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if given {
			return nil, exitError{code: 1, msg: "pathlight report: --rules " + dir + ": no such directory"}
		}
		fmt.Fprintf(stderr, "pathlight report: warning: no rules directory %s; the reports have none of the rules' funnels, steps, surveys or experiments (give --rules)\n", dir)
		return rules.Empty(), nil
	}
	set, err := rules.LoadDir(dir)
	if err != nil {
		return nil, exitError{code: 1, msg: "pathlight report: the rules in " + dir + " are invalid:\n" + indent(err.Error())}
	}
	return set, nil
}

// remoteReport asks a running server for a report. It returns the result with its data
// decoded into the report's payload type, and the reply as received.
func remoteReport(server, token, name string, values map[string]string) (*analytics.Result, []byte, error) {
	payload, err := analytics.NewPayload(name)
	if err != nil {
		return nil, nil, exitError{code: 2, msg: "pathlight report: " + err.Error()}
	}
	q := url.Values{}
	for k, v := range values {
		if v != "" {
			q.Set(k, v)
		}
	}
	u := strings.TrimRight(server, "/") + "/api/v1/reports/" + url.PathEscape(name) + "?" + q.Encode()
	body, err := adminGet(u, token)
	if err != nil {
		return nil, nil, err
	}
	var env struct {
		analytics.Result
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, fmt.Errorf("report from %s: %w", server, err)
	}
	if err := json.Unmarshal(env.Data, payload); err != nil {
		return nil, nil, fmt.Errorf("report from %s: %w", server, err)
	}
	res := env.Result
	res.Data = payload
	return &res, body, nil
}

// adminGet makes an authorised GET of the admin API and returns the body of a 200 reply.
func adminGet(u, token string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, exitError{code: 2, msg: "pathlight: " + err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask the server: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read the reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp.StatusCode, body)
	}
	return body, nil
}

// apiError turns an error reply of the admin API into a message.
func apiError(status int, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if status == http.StatusUnauthorized {
		msg += " (give the admin token with --token or PATHLIGHT_ADMIN_TOKEN)"
	}
	return exitError{code: 1, msg: fmt.Sprintf("pathlight: the server answered %d: %s", status, msg)}
}
