package cond

import "testing"

const threeClause = "{page.path: /pricing, session.channel: {$in: [Paid Social, Paid Search]}, visitor.pageviews: {$gte: 3}}"

func benchEval(b *testing.B, src string) {
	c := compileVisit(b, src)
	v := pricingVisit()
	if !c.Eval(v) {
		b.Fatalf("Eval(%s) = false; want true", src)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Eval(v)
	}
}

func BenchmarkEvalThreeClause(b *testing.B) { benchEval(b, threeClause) }

func BenchmarkEvalRegex(b *testing.B) {
	b.Run("path", func(b *testing.B) { benchEval(b, "{page.path: {$regex: ^/(pricing|plans)}}") })
	b.Run("user-agent", func(b *testing.B) { benchEval(b, "{device.user_agent: {$regex: (iPhone|Android).*Mobile}}") })
	b.Run("case-insensitive", func(b *testing.B) { benchEval(b, "{visitor.traits.plan: {$regexi: ^pro}}") })
}

func BenchmarkEvalVersion(b *testing.B) {
	benchEval(b, "{app.version: {$vgte: 2.9.0, $vlt: 3.0.0}}")
}

func BenchmarkEvalCaseInsensitiveIn(b *testing.B) {
	benchEval(b, "{session.channel: {$ini: [paid social, paid search, email]}}")
}

func BenchmarkEvalSequence(b *testing.B) {
	benchEval(b, "{$sequence: {steps: [viewed_pricing, started_trial, invited_team], within: 7d}}")
}

func BenchmarkEvalCount(b *testing.B) {
	benchEval(b, "{$count: {step: viewed_pricing, within: 7d, $gte: 2}}")
}

func BenchmarkEvalNested(b *testing.B) {
	benchEval(b, `{$or: [{page.path: /}, {$and: [{visitor.pageviews: {$gt: 2}},
		{visitor.segments: {$elemMatch: {$regexi: ^high}}}]}], visitor.last_seen: {$within: 14d}}`)
}

// BenchmarkEvalDoc is the generic document path, for comparison with the typed one.
func BenchmarkEvalDoc(b *testing.B) {
	c, err := Compile(parse(b, threeClause), DocResolver, Options[Doc]{})
	if err != nil {
		b.Fatal(err)
	}
	doc := &Doc{Root: FromAny(map[string]any{
		"page":    map[string]any{"path": "/pricing"},
		"session": map[string]any{"channel": "Paid Search"},
		"visitor": map[string]any{"pageviews": 4},
	})}
	if !c.Eval(doc) {
		b.Fatalf("Eval on the document = false; want true")
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Eval(doc)
	}
}

func BenchmarkExplain(b *testing.B) {
	c := compileVisit(b, "{page.path: /pricing, visitor.pageviews: {$gte: 5}}")
	v := pricingVisit()
	b.ReportAllocs()
	for b.Loop() {
		c.Explain(v)
	}
}

func BenchmarkCompile(b *testing.B) {
	m := parse(b, `{page.path: /pricing, session.channel: {$in: [Paid Social, Paid Search]},
		visitor.pageviews: {$gte: 3}, device.user_agent: {$regex: (iPhone|Android)},
		$or: [{app.version: {$vgte: 2.0.0}}, {visitor.traits.plan: {$exists: true}}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(m, visitResolver, visitOptions); err != nil {
			b.Fatal(err)
		}
	}
}
