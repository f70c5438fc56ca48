package report

import (
	"cmp"
	"slices"
)

// PathRow is one line of a path table: a sequence of channels and how many journeys that
// followed it converted, their conversion value, and how many ended without converting.
// This is the aggregate the ChannelAttribution package reads, so its data sets feed
// straight in.
type PathRow struct {
	Path        []string `json:"path"`
	Conversions float64  `json:"conversions"`
	Value       float64  `json:"value"`
	Nulls       float64  `json:"nulls"`
}

// CampaignWeight is the linear credit of one channel and campaign in the converting journeys
// of a path table. Models that work on channel paths (Markov chains, Shapley values) split a
// channel's credit across its campaigns in these proportions.
type CampaignWeight struct {
	Channel     string  `json:"channel"`
	Campaign    string  `json:"campaign"`
	Conversions float64 `json:"conversions"`
	Value       float64 `json:"value"`
}

// PathTable is a mergeable table of paths: rows with the same path add up, so tables of
// several days or several shards merge into the table of the whole. The zero value is an
// empty table ready to use; a table built as a literal works too. A PathTable is not safe
// for concurrent use while it is being added to.
type PathTable struct {
	Rows      []PathRow        `json:"rows"`
	Campaigns []CampaignWeight `json:"campaigns,omitempty"`

	// Lookup indexes over Rows and Campaigns, kept up to date incrementally so that rows
	// appended directly by a caller are found too.
	index    map[string]int
	indexed  int
	cindex   map[[2]string]int
	cindexed int
	key      []byte // scratch for lookups
}

// pathKey joins channels with a separator no channel name contains.
func pathKey(path []string) string { return string(appendPathKey(nil, path)) }

// appendPathKey appends the key of path to b.
func appendPathKey(b []byte, path []string) []byte {
	for i, ch := range path {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, ch...)
	}
	return b
}

// Add adds a journey count to the row of path, creating the row when it is new. The path is
// copied.
func (t *PathTable) Add(path []string, conversions, value, nulls float64) {
	t.reindex()
	t.key = appendPathKey(t.key[:0], path)
	if i, ok := t.index[string(t.key)]; ok {
		r := &t.Rows[i]
		r.Conversions += conversions
		r.Value += value
		r.Nulls += nulls
		return
	}
	t.index[string(t.key)] = len(t.Rows)
	t.indexed++
	t.Rows = append(t.Rows, PathRow{Path: slices.Clone(path), Conversions: conversions, Value: value, Nulls: nulls})
}

// AddCampaign adds linear credit to a channel and campaign.
func (t *PathTable) AddCampaign(channel, campaign string, conversions, value float64) {
	if t.cindex == nil || t.cindexed > len(t.Campaigns) {
		t.cindex, t.cindexed = make(map[[2]string]int, len(t.Campaigns)), 0
	}
	for ; t.cindexed < len(t.Campaigns); t.cindexed++ {
		c := &t.Campaigns[t.cindexed]
		t.cindex[[2]string{c.Channel, c.Campaign}] = t.cindexed
	}
	k := [2]string{channel, campaign}
	if i, ok := t.cindex[k]; ok {
		t.Campaigns[i].Conversions += conversions
		t.Campaigns[i].Value += value
		return
	}
	t.cindex[k] = len(t.Campaigns)
	t.cindexed++
	t.Campaigns = append(t.Campaigns, CampaignWeight{Channel: channel, Campaign: campaign, Conversions: conversions, Value: value})
}

// Merge adds every row and campaign weight of o to t.
func (t *PathTable) Merge(o *PathTable) {
	for _, r := range o.Rows {
		t.Add(r.Path, r.Conversions, r.Value, r.Nulls)
	}
	for _, c := range o.Campaigns {
		t.AddCampaign(c.Channel, c.Campaign, c.Conversions, c.Value)
	}
}

// Totals returns the sums of conversions, value and nulls over all rows.
func (t *PathTable) Totals() (conversions, value, nulls float64) {
	for _, r := range t.Rows {
		conversions += r.Conversions
		value += r.Value
		nulls += r.Nulls
	}
	return conversions, value, nulls
}

// Sort orders rows by journeys (conversions plus nulls) descending, then by path, and
// campaign weights by channel and campaign, so that output is deterministic.
func (t *PathTable) Sort() {
	slices.SortStableFunc(t.Rows, func(a, b PathRow) int {
		if c := cmp.Compare(b.Conversions+b.Nulls, a.Conversions+a.Nulls); c != 0 {
			return c
		}
		return slices.Compare(a.Path, b.Path)
	})
	slices.SortFunc(t.Campaigns, func(a, b CampaignWeight) int {
		if c := cmp.Compare(a.Channel, b.Channel); c != 0 {
			return c
		}
		return cmp.Compare(a.Campaign, b.Campaign)
	})
	t.index, t.cindex = nil, nil
}

// reindex brings the path index up to date with Rows.
func (t *PathTable) reindex() {
	if t.index == nil || t.indexed > len(t.Rows) {
		t.index, t.indexed = make(map[string]int, len(t.Rows)), 0
	}
	for ; t.indexed < len(t.Rows); t.indexed++ {
		t.index[pathKey(t.Rows[t.indexed].Path)] = t.indexed
	}
}
