package jsonpath

import (
	"errors"
	"reflect"
	"testing"
)

const storeDoc = `{
  "store": {
    "book": [
      {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
      {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
      {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553", "price": 8.99},
      {"category": "fiction", "author": "J. R. R. Tolkien", "title": "LOTR", "isbn": "0-395", "price": 22.99}
    ],
    "bicycle": {"color": "red", "price": 19.95}
  },
  "users": [{"status": 0, "n": "a"}, {"status": 1, "n": "b"}, {"status": 0, "n": "c", "tags": ["x", "y"]}],
  "items": [0, 1, 2, 3, 4, 5],
  "odd key": {"a.b": 1, "it's": 2, "q\"": 3, "bs\\": 4},
  "nul": null,
  "Test\\\"\"Name\"": "Value"
}`

func TestGet(t *testing.T) {
	doc, err := DecodeString(storeDoc)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{`$`, ``}, // whole document, checked separately
		{`$.store.bicycle.color`, `"red"`},
		{`$['store']['bicycle']["color"]`, `"red"`},
		{`$.store.book[0].title`, `"Sayings"`},
		{`$.store.book[-1].title`, `"LOTR"`},
		{`$.nul`, `null`},
		{`$.items[5]`, `5`},
		{`$['odd key']['a.b']`, `1`},
		{`$['odd key']['it\'s']`, `2`},
		{`$['odd key']['q"']`, `3`},
		{`$['odd key']["q\""]`, `3`},
		{`$['Test\""Name"']`, `"Value"`},
		{`$['odd key']['a.b','it\'s','zz']`, `{"a.b":1,"it's":2}`},
		// indefinite paths return arrays
		{`$.items[*]`, `[0,1,2,3,4,5]`},
		{`$.items[1:3]`, `[1,2]`},
		{`$.items[-2:]`, `[4,5]`},
		{`$.items[:2]`, `[0,1]`},
		{`$.items[4:100]`, `[4,5]`},
		{`$.items[3:1]`, `[]`},
		{`$.items[0,2,9]`, `[0,2]`},
		{`$.store.book[*].author`, `["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]`},
		{`$.store.book[1:3].price`, `[12.99,8.99]`},
		{`$..isbn`, `["0-553","0-395"]`},
		{`$.store..price`, `[19.95,8.95,12.99,8.99,22.99]`}, // objects are walked in key order
		{`$.store.bicycle.*`, `["red",19.95]`},
		{`$.store.*.color`, `["red"]`},
		{`$.nope[*]`, `[]`},
		{`$..nope`, `[]`},
		{`$.users[?(@.status == 0)]`, `[{"status":0,"n":"a"},{"status":0,"n":"c","tags":["x","y"]}]`},
		{`$.users[?(@.status == 0)].n`, `["a","c"]`},
		{`$.users[?(@.status==0 && @.n=='c')].n`, `["c"]`},
		{`$.users[?(@.status > 0 || @.n == "a")].n`, `["a","b"]`},
		{`$.users[?(!(@.status == 0))].n`, `["b"]`},
		{`$.users[?(@.tags)].n`, `["c"]`},
		{`$.users[?(@.n != 'a')].n`, `["b","c"]`},
		{`$.users[?(@.n in ['a','b'])].n`, `["a","b"]`},
		{`$.users[?(@.n nin ['a','b'])].n`, `["c"]`},
		{`$.users[?(@.n =~ /[ab]/)].n`, `["a","b"]`},
		{`$.users[?(@.n =~ /A/i)].n`, `["a"]`},
		{`$.store.book[?(@.price < 10)].title`, `["Sayings","Moby Dick"]`},
		{`$.store.book[?(@.price <= 8.99)].title`, `["Sayings","Moby Dick"]`},
		{`$.store.book[?(@.price >= 22.99)].title`, `["LOTR"]`},
		{`$.store.book[?(@.author > 'I')].title`, `["Sayings","LOTR"]`}, // string order: E < H < I < J < N
		{`$.store.book[?(@.price > $.store.bicycle.price)].title`, `["LOTR"]`},
		{`$.store.book[?(@.isbn == null)].title`, `[]`},
		{`$.store.book[?(@['category'] == 'reference')].title`, `["Sayings"]`},
		{`$.store.book[ ?( @.price == 8.95 ) ].title`, `["Sayings"]`},
		{`$.store.bicycle[?(@.color == 'red')].price`, `[19.95]`},
		{`$..book[?(@.isbn)].title`, `["Moby Dick","LOTR"]`},
		{`$.users[?(@.tags[0] == 'x')].n`, `["c"]`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := Get(tt.path, doc)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			want := doc
			if tt.want != "" {
				want = mustDecode(t, tt.want)
			}
			if !Equal(got, want) {
				enc, _ := EncodeString(got)
				t.Fatalf("got %s, want %s", enc, tt.want)
			}
		})
	}
}

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := DecodeString(s)
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestGetNotFound(t *testing.T) {
	doc := mustDecode(t, `{"a":{"b":[1,2]},"s":"str","n":null}`)
	tests := []string{
		`$.x`,
		`$.a.x`,
		`$.a.b[2]`,
		`$.a.b[-3]`,
		`$.s.x`,
		`$.s[0]`,
		`$.a[0]`,
		`$.n.x`,
		`$.a.b.c`,
	}
	for _, p := range tests {
		_, err := Get(p, doc)
		var nf *NotFoundError
		if !errors.As(err, &nf) || nf.Path != p {
			t.Errorf("Get(%s) = %v, want *NotFoundError", p, err)
		}
	}
}

func TestCompile(t *testing.T) {
	tests := []struct {
		path      string
		root      string
		definite  bool
		reference bool
	}{
		{`$`, RootInput, true, true},
		{`$$`, RootContext, true, false},
		{`$$.Execution.Input.x`, RootContext, true, false},
		{`$.a.b[0]`, RootInput, true, true},
		{`$['a'][1]`, RootInput, true, true},
		{`$.a[-1]`, RootInput, true, false},
		{`$.a[*]`, RootInput, false, false},
		{`$..a`, RootInput, false, false},
		{`$.a[0:1]`, RootInput, false, false},
		{`$.a[0,1]`, RootInput, false, false},
		{`$['a','b']`, RootInput, true, false},
		{`$['a','b'].c`, RootInput, false, false},
		{`$.a[?(@.b)]`, RootInput, false, false},
		{`$var`, "$var", true, false},
		{`$var.x[0]`, "$var", true, false},
		{`$my_var2['x']`, "$my_var2", true, false},
	}
	for _, tt := range tests {
		p, err := Compile(tt.path)
		if err != nil {
			t.Errorf("Compile(%s): %v", tt.path, err)
			continue
		}
		if p.Root() != tt.root || p.IsDefinite() != tt.definite || p.IsReference() != tt.reference || p.String() != tt.path {
			t.Errorf("Compile(%s): root %s definite %v reference %v text %s", tt.path, p.Root(), p.IsDefinite(), p.IsReference(), p)
		}
		if IsReferencePath(tt.path) != tt.reference {
			t.Errorf("IsReferencePath(%s) != %v", tt.path, tt.reference)
		}
		if v, ok := p.Variable(); ok != (tt.root != RootInput && tt.root != RootContext) || (ok && "$"+v != tt.root) {
			t.Errorf("Variable(%s) = %s, %v", tt.path, v, ok)
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []string{
		``, `a`, `.a`, `$.`, `$..`, `$[`, `$[]`, `$[a]`, `$['a`, `$['a'`, `$.a[1`, `$.a[1:2:3]`,
		`$.a.length()`, `$.a[?(@.b ==)]`, `$.a[?(@.b`, `$.a[?@.b]`, `$.a[?(@.b =~ /[/)]`,
		`$ .a`, `$.a b`, `$[99999999999999999999]`, `$.a[?($$.x)]`, `$[0,]`, `$['a',]`,
	}
	for _, p := range bad {
		var se *SyntaxError
		if err := Validate(p); !errors.As(err, &se) {
			t.Errorf("Validate(%q) = %v, want *SyntaxError", p, err)
		}
	}
	good := []string{`$`, `$.a`, `$.a-b`, `$.a_b.c1`, `$.a[*].b`, `$..x`, `$.a[1:3]`, `$.a[-1:]`, `$.a[?(@.x > 1)]`,
		`$.a[?(@.x == 'y')]`, `$.a[?(@.x)]`, `$$.Map.Item.Value`, `$.é.ü`, `$[0][1]`, `$.*`, `$..*`, `$..[0]`, `$['a']['b']`}
	for _, p := range good {
		if err := Validate(p); err != nil {
			t.Errorf("Validate(%q) = %v", p, err)
		}
	}
}

func TestCompilePrefix(t *testing.T) {
	tests := []struct {
		in   string
		path string
	}{
		{`$.a, 'x')`, `$.a`},
		{`$.a)`, `$.a`},
		{`$$.Execution.Id)`, `$$.Execution.Id`},
		{`$['a,b'] , 1`, `$['a,b']`},
		{`$.a[?(@.b, 1)] x`, ``}, // a comma inside a filter is an error
		{`$x.y)`, `$x.y`},
		{`$ )`, `$`},
	}
	for _, tt := range tests {
		p, n, err := CompilePrefix(tt.in)
		if tt.path == "" {
			if err == nil {
				t.Errorf("CompilePrefix(%q) accepted %q", tt.in, p)
			}
			continue
		}
		if err != nil || p.String() != tt.path || n != len(tt.path) {
			t.Errorf("CompilePrefix(%q) = %v, %d, %v; want %q", tt.in, p, n, err, tt.path)
		}
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		doc, path, value, want string
	}{
		{`{"a":1}`, `$`, `"x"`, `"x"`},
		{`{"a":1}`, `$.b`, `2`, `{"a":1,"b":2}`},
		{`{"a":1}`, `$.a`, `{"c":3}`, `{"a":{"c":3}}`},
		{`{"a":1}`, `$.b.c.d`, `true`, `{"a":1,"b":{"c":{"d":true}}}`},
		{`{"a":{"x":1}}`, `$.a.y`, `2`, `{"a":{"x":1,"y":2}}`},
		{`{"a":[1,2,3]}`, `$.a[1]`, `"z"`, `{"a":[1,"z",3]}`},
		{`{"a":[{"b":1}]}`, `$.a[0].c`, `2`, `{"a":[{"b":1,"c":2}]}`},
		{`[1,2]`, `$[0]`, `9`, `[9,2]`},
		{`{}`, `$['x y']`, `1`, `{"x y":1}`},
		{`null`, `$.a`, `1`, `{"a":1}`},
	}
	for _, tt := range tests {
		doc := mustDecode(t, tt.doc)
		before, _ := EncodeString(doc)
		got, err := Set(doc, tt.path, mustDecode(t, tt.value))
		if err != nil {
			t.Errorf("Set(%s, %s): %v", tt.doc, tt.path, err)
			continue
		}
		if !Equal(got, mustDecode(t, tt.want)) {
			enc, _ := EncodeString(got)
			t.Errorf("Set(%s, %s) = %s, want %s", tt.doc, tt.path, enc, tt.want)
		}
		if after, _ := EncodeString(doc); after != before {
			t.Errorf("Set modified its input: %s -> %s", before, after)
		}
	}
	bad := []struct{ doc, path string }{
		{`"str"`, `$.a`},
		{`{"a":1}`, `$.a.b`},
		{`{"a":[1]}`, `$.a.b`},
		{`{"a":[1]}`, `$.a[1]`},
		{`{"a":{}}`, `$.a[0]`},
		{`{}`, `$.a[*]`},
		{`{}`, `$$.a`},
		{`{}`, `$..a`},
	}
	for _, tt := range bad {
		_, err := Set(mustDecode(t, tt.doc), tt.path, "v")
		var se *SetError
		if !errors.As(err, &se) {
			t.Errorf("Set(%s, %s) = %v, want *SetError", tt.doc, tt.path, err)
		}
	}
	if _, err := Set(nil, `$[`, 1); err == nil {
		t.Error("Set with a bad path succeeded")
	}
}

func TestFirstField(t *testing.T) {
	tests := []struct {
		path string
		want string
		ok   bool
	}{
		{`$$.Map.Item.Value`, "Map", true},
		{`$$['Execution'].Id`, "Execution", true},
		{`$.a`, "a", true},
		{`$v.x[0]`, "x", true},
		{`$`, "", false},
		{`$$`, "", false},
		{`$..a`, "", false},
		{`$$.*`, "", false},
		{`$['a','b']`, "", false},
		{`$[0]`, "", false},
	}
	for _, tt := range tests {
		got, ok := MustCompile(tt.path).FirstField()
		if got != tt.want || ok != tt.ok {
			t.Errorf("FirstField(%s) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzPath(f *testing.F) {
	for _, s := range []string{
		`$`, `$.a.b`, `$['a']`, `$.a[0]`, `$.a[*].b`, `$..x`, `$.a[1:3]`, `$.a[-1:]`,
		`$.a[?(@.x > 1)]`, `$.a[?(@.x == 'y' && !(@.z))]`, `$$.Execution.Id`, `$v.x[0,1]`,
		`$.a[?(@.n =~ /a.*/i)]`, `$.a[?(@.n in [1,'x',null])]`, `$..[?(@.b)]`,
	} {
		f.Add(s)
	}
	doc, err := DecodeString(`{"a":[{"x":2,"b":"y","z":[1,{"x":0}]},{"x":0,"n":"abc"},3],"b":{"x":{"x":1}},"Execution":{"Id":"i"}}`)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Compile(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) error %v is not a *SyntaxError", s, err)
			}
			return
		}
		v, err := p.Get(doc)
		if p.IsDefinite() {
			var nf *NotFoundError
			if err != nil && !errors.As(err, &nf) {
				t.Fatalf("Get(%q) error %v is not a *NotFoundError", s, err)
			}
		} else if _, ok := v.([]any); !ok || err != nil {
			t.Fatalf("indefinite Get(%q) = %#v, %v", s, v, err)
		}
		// The first field alone decides what Get reads of the document.
		if name, ok := p.FirstField(); ok {
			part := map[string]any{}
			if fv, present := doc.(map[string]any)[name]; present {
				part[name] = fv
			}
			pv, perr := p.Get(part)
			if (perr == nil) != (err == nil) || perr == nil && !reflect.DeepEqual(pv, v) {
				t.Fatalf("Get(%q) on the first field only = %#v, %v; on the document %#v, %v", s, pv, perr, v, err)
			}
		}
		if p.IsReference() {
			if _, err := p.Set(doc, "v"); err != nil {
				var se *SetError
				if !errors.As(err, &se) {
					t.Fatalf("Set(%q) error %v is not a *SetError", s, err)
				}
			}
		}
	})
}

func BenchmarkGet(b *testing.B) {
	doc, err := DecodeString(storeDoc)
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{`$.store.book[2].title`, `$.store.book[?(@.price < 10)].title`, `$..price`} {
		p := MustCompile(path)
		b.Run(path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Get(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("compile+get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Get(`$.store.bicycle.color`, doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestFilterCoercion(t *testing.T) {
	doc := mustDecode(t, `[{"v":1},{"v":"1"},{"v":1.0},{"v":"1.0"},{"v":true},{"v":null},{}]`)
	tests := []struct{ path, want string }{
		// a string on the left compares as text: "1.0" is not "1"
		{`$[?(@.v == 1)]`, `[{"v":1},{"v":"1"},{"v":1.0}]`},
		// a number on the left compares by value: 1.0 equals '1'
		{`$[?(@.v == '1')]`, `[{"v":1},{"v":"1"},{"v":1.0}]`},
		{`$[?(@.v != 1)]`, `[{"v":"1.0"},{"v":true},{"v":null},{}]`},
		{`$[?(@.v == null)]`, `[{"v":null}]`},
		{`$[?(@.v == true)]`, `[{"v":true}]`},
		{`$[?(@.v > 0)]`, `[{"v":1},{"v":1.0}]`},
		{`$[?(@.v in [1])]`, `[{"v":1},{"v":"1"},{"v":1.0}]`},
	}
	for _, tt := range tests {
		got, err := Get(tt.path, doc)
		if err != nil || !Equal(got, mustDecode(t, tt.want)) {
			enc, _ := EncodeString(got)
			t.Errorf("Get(%s) = %s, %v; want %s", tt.path, enc, err, tt.want)
		}
	}
}

func TestFilterLiteralsAndExistence(t *testing.T) {
	doc := mustDecode(t, `[{"t":[1]},{"t":[]},{"u":1}]`)
	tests := []struct{ path, want string }{
		{`$[?(true)]`, `[{"t":[1]},{"t":[]},{"u":1}]`},
		{`$[?(null)]`, `[]`},
		{`$[?(@.t[*])]`, `[{"t":[1]}]`},
		{`$[?(@.t[0] == 1 || @.u)]`, `[{"t":[1]},{"u":1}]`},
		{`$[?(@.u == $[2].u)]`, `[{"u":1}]`},
	}
	for _, tt := range tests {
		got, err := Get(tt.path, doc)
		if err != nil || !Equal(got, mustDecode(t, tt.want)) {
			enc, _ := EncodeString(got)
			t.Errorf("Get(%s) = %s, %v; want %s", tt.path, enc, err, tt.want)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	_, err := Get(`$.a`, map[string]any{})
	if err == nil || err.Error() != `jsonpath: path "$.a" not found: missing field "a"` {
		t.Errorf("NotFoundError message: %v", err)
	}
	if err := Validate(`$.a[`); err == nil || err.Error() == "" {
		t.Errorf("SyntaxError message: %v", err)
	}
	_, err = Set("s", `$.a`, 1)
	if err == nil || err.Error() != `jsonpath: cannot set "$.a": cannot set field "a" in string` {
		t.Errorf("SetError message: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustCompile did not panic on a bad path")
		}
	}()
	MustCompile(`$[`)
}
