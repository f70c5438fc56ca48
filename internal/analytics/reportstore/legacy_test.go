package reportstore

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// appendVisitorUnsectioned appends v as records were encoded before their parts had
// lengths (recordVersion, recordVersionTable), for the tests that read such records.
func appendVisitorUnsectioned(dst []byte, v *Visitor, tab *strTable) []byte {
	var flags byte
	if v.HasState {
		flags = 1
	}
	version := byte(recordVersionUnsectioned)
	if tab != nil {
		version = recordVersionUnsectionedTable
	}
	dst = append(dst, version, flags)
	appendStr := func(dst []byte, s string) []byte {
		if tab != nil {
			return binary.AppendUvarint(dst, tab.ref(s))
		}
		return appendStr(dst, s)
	}
	appendStrs := func(dst []byte, ss []string) []byte {
		dst = binary.AppendUvarint(dst, uint64(len(ss)))
		for _, s := range ss {
			dst = appendStr(dst, s)
		}
		return dst
	}
	// The head: sites and days, all a scan reads of a record outside the period.
	dst = appendStrs(dst, v.Sites)
	days := v.days()
	ds := make([]int64, 0, len(days))
	for d := range days {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	dst = binary.AppendUvarint(dst, uint64(len(ds)))
	prev := int64(0)
	for _, d := range ds {
		dst = binary.AppendVarint(dst, d-prev)
		dst = append(dst, days[d])
		prev = d
	}
	j := &v.J
	dst = binary.AppendUvarint(dst, uint64(len(j.Touches)))
	for i := range j.Touches {
		t := &j.Touches[i]
		dst = binary.AppendVarint(dst, t.StartedAt)
		dst = binary.AppendVarint(dst, t.LastAt-t.StartedAt)
		dst = appendStr(dst, t.Channel)
		dst = appendStr(dst, t.Source)
		dst = appendStr(dst, t.Medium)
		dst = appendStr(dst, t.Campaign)
	}
	dst = binary.AppendUvarint(dst, uint64(len(j.Steps)))
	for _, m := range j.Steps {
		dst = appendStr(dst, m.Step)
		dst = binary.AppendVarint(dst, m.At)
	}
	dst = binary.AppendUvarint(dst, uint64(len(j.Conversions)))
	for _, c := range j.Conversions {
		dst = appendStr(dst, c.Step)
		dst = binary.AppendVarint(dst, c.At)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(c.Value))
	}
	dst = binary.AppendUvarint(dst, uint64(j.EarlierConversions))
	dst = append(dst, byte(j.Device))
	dst = appendStr(dst, j.Country)
	dst = appendStrs(dst, j.Segments)
	dst = binary.AppendUvarint(dst, uint64(len(j.Arms)))
	for _, a := range j.Arms {
		dst = appendStr(dst, a.Experiment)
		dst = appendStr(dst, a.Variant)
		dst = binary.AppendVarint(dst, a.At)
		dst = appendBool(dst, a.Exposed)
	}
	dst = binary.AppendUvarint(dst, uint64(len(v.Steps)))
	for _, c := range v.Steps {
		dst = appendStr(dst, c.Key)
		dst = binary.AppendUvarint(dst, uint64(c.N))
		dst = binary.AppendVarint(dst, c.FirstAt)
		dst = binary.AppendVarint(dst, c.LastAt)
	}
	dst = binary.AppendUvarint(dst, uint64(len(v.Prompts)))
	for i := range v.Prompts {
		p := &v.Prompts[i]
		dst = appendStr(dst, p.Site)
		dst = appendStr(dst, p.ID)
		dst = appendStr(dst, p.Prompt)
		dst = appendStr(dst, p.Action)
		dst = appendStr(dst, p.Answer)
		dst = binary.AppendVarint(dst, p.At)
		if p.Segments == nil {
			dst = append(dst, 0)
		} else {
			dst = append(dst, 1)
			dst = appendStrs(dst, p.Segments)
		}
	}
	return dst
}

// unsectionPack writes a pack again with its records as they were encoded before their
// parts had lengths.
func unsectionPack(b []byte) ([]byte, error) {
	entries, err := decodePack(b)
	if err != nil {
		return nil, err
	}
	tab := newStrTable()
	var body []byte
	in := NewInterner()
	for i := range entries {
		v, err := decodeVisitor("", entries[i].rec, in)
		if err != nil {
			return nil, err
		}
		body = append(body, entries[i].id[:]...)
		l := len(body)
		body = appendVisitorUnsectioned(body, v, tab)
		body = slices.Insert(body, l, binary.AppendUvarint(nil, uint64(len(body)-l))...)
	}
	dst := []byte{packVersion}
	dst = binary.AppendUvarint(dst, uint64(len(tab.strs)))
	for _, s := range tab.strs {
		dst = appendStr(dst, s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(entries)))
	return append(dst, body...), nil
}

// unsection writes every nth record key (single record or pack) of m again as records
// were encoded before their parts had lengths, and returns how many of each it wrote.
func unsection(t testing.TB, m *Memory, every int) (singles, packs int) {
	t.Helper()
	i := 0
	for k, val := range m.m {
		if k[0] != pRecord && k[0] != pPack {
			continue
		}
		if i++; i%every != 0 {
			continue
		}
		switch len(k) {
		case 5 + vidBytes:
			v, err := decodeVisitor("", val, NewInterner())
			if err != nil {
				t.Fatal(err)
			}
			m.m[k] = appendVisitorUnsectioned(nil, v, nil)
			singles++
		case packLen:
			b, err := unsectionPack(val)
			if err != nil {
				t.Fatal(err)
			}
			m.m[k] = b
			packs++
		}
	}
	return singles, packs
}
