package notebook

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// KeysOf reads the key declarations from the fields of a struct, so that
// the struct a load tool or guest kind runs from is its declaration too:
//
//	type Spec struct {
//		Clients int `key:"clients" default:"50" min:"1" doc:"connections per thread"`
//	}
//
// Tags: key (the name; "-" or absent: not a key), doc, default, oneof
// (values separated by "|"), pattern and help, min, max, excludes, atmost,
// noparam, required (the last two take no value). A field's Go type gives
// the key's type: string, int or int64, float64, bool, time.Duration,
// []string, map[string]string, map[string]MetricSource, or a type implementing
// encoding.TextUnmarshaler (a string). type:"string-or-strings" marks a
// []string that may also be written as one string. It panics on a
// declaration it cannot read: declarations are fixed at build time and the
// catalog test reads them all.
func KeysOf(spec any) []Key {
	t := reflect.TypeOf(spec)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []Key
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("key")
		if !ok || name == "-" {
			continue
		}
		k := Key{
			Name:     name,
			Doc:      f.Tag.Get("doc"),
			Default:  f.Tag.Get("default"),
			Pattern:  f.Tag.Get("pattern"),
			Help:     f.Tag.Get("help"),
			Min:      f.Tag.Get("min"),
			Max:      f.Tag.Get("max"),
			Excludes: f.Tag.Get("excludes"),
			AtMost:   f.Tag.Get("atmost"),
			Step:     f.Tag.Get("step"),
			When:     f.Tag.Get("when"),
		}
		if o := f.Tag.Get("oneof"); o != "" {
			k.OneOf = strings.Split(o, "|")
		}
		if o := f.Tag.Get("kinds"); o != "" {
			k.Kinds = strings.Split(o, "|")
		}
		_, k.NoParam = f.Tag.Lookup("noparam")
		_, k.Required = f.Tag.Lookup("required")
		typ, err := keyType(f.Type, f.Tag.Get("type"))
		if err != nil {
			panic(fmt.Sprintf("notebook.KeysOf(%s): field %s: %v", t, f.Name, err))
		}
		k.Type = typ
		if typ == TypeTableArray {
			k.Sub = KeysOf(reflect.New(f.Type.Elem()).Interface())
		}
		if k.Pattern != "" {
			compiled(k.Pattern)
		}
		keys = append(keys, k)
	}
	return keys
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalType   = reflect.TypeFor[encoding.TextUnmarshaler]()
	metricTableType = reflect.TypeFor[map[string]MetricSource]()
)

func keyType(t reflect.Type, hint string) (Type, error) {
	switch {
	case t == durationType:
		return TypeDuration, nil
	case t == metricTableType:
		return TypeMetricTable, nil
	case reflect.PointerTo(t).Implements(unmarshalType):
		return TypeString, nil
	}
	switch t.Kind() {
	case reflect.String:
		return TypeString, nil
	case reflect.Int, reflect.Int64:
		return TypeInt, nil
	case reflect.Float64:
		return TypeFloat, nil
	case reflect.Bool:
		return TypeBool, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			if hint == "string-or-strings" {
				return TypeStringOrStrings, nil
			}
			return TypeStrings, nil
		}
		if t.Elem().Kind() == reflect.Struct {
			return TypeTableArray, nil
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String {
			return TypeStringMap, nil
		}
	}
	return 0, fmt.Errorf("type %s cannot hold a notebook key", t)
}

// Decode fills the key fields of the struct spec points to from values (a
// table with its params resolved, as Notebook.LoadValues returns it), with
// each absent key's default, checking every value as `check` does. A key
// the struct does not declare is an error too: values must come from the
// table the struct declares.
func Decode(values map[string]any, spec any) error {
	rv := reflect.ValueOf(spec)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decode: want a pointer to a struct, not %T", spec)
	}
	rv = rv.Elem()
	keys := KeysOf(spec)
	var errs []error
	for name := range values {
		if findKey(keys, name) == nil {
			errs = append(errs, fmt.Errorf("unknown key %q%s", name, didYouMean(name, keyNames(keys))))
		}
	}
	// In a declaration shared by several kinds of table, a key applies
	// only to its kinds: the table's "kind" says which one it is.
	kind, _ := values["kind"].(string)
	for _, k := range keys {
		if len(k.Kinds) > 0 && !slices.Contains(k.Kinds, kind) {
			continue
		}
		if _, set := values[k.Name]; k.Required && !set {
			errs = append(errs, fmt.Errorf("missing key %q: it is required", k.Name))
		}
	}
	d := Decl{Keys: keys}
	d.ruleProblems(values, func(_, msg string) { errs = append(errs, errors.New(msg)) })
	t := rv.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("key")
		if !ok || name == "-" {
			continue
		}
		k := findKey(keys, name)
		v, set := values[name]
		if !set {
			if k.Excludes != "" {
				if _, other := values[k.Excludes]; other {
					continue
				}
			}
			if v = k.defaultValue(); v == nil {
				continue
			}
		}
		if n, ok := v.(int); ok {
			v = int64(n) // a runtime variable such as {port}
		}
		v = resolvedStrings(k, v)
		if msg := k.typeProblem(v); msg != "" {
			errs = append(errs, errors.New(msg))
			continue
		}
		if msg := k.valueProblem(v); msg != "" {
			errs = append(errs, errors.New(msg))
			continue
		}
		if err := setField(rv.Field(i), v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func setField(fv reflect.Value, v any) error {
	if fv.CanAddr() {
		if u, ok := fv.Addr().Interface().(encoding.TextUnmarshaler); ok {
			return u.UnmarshalText([]byte(v.(string)))
		}
	}
	switch {
	case fv.Type() == durationType:
		d, err := time.ParseDuration(v.(string))
		if err != nil {
			return err
		}
		fv.SetInt(int64(d))
		return nil
	case fv.Type() == metricTableType:
		fv.Set(reflect.ValueOf(metricSources(v.(map[string]any))))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(v.(string))
	case reflect.Int, reflect.Int64:
		fv.SetInt(v.(int64))
	case reflect.Float64:
		fv.SetFloat(toFloat(v))
	case reflect.Bool:
		fv.SetBool(v.(bool))
	case reflect.Slice:
		if fv.Type().Elem().Kind() == reflect.Struct {
			return setTables(fv, v)
		}
		fv.Set(reflect.ValueOf(strs(v)))
	case reflect.Map:
		m := map[string]string{}
		for k, e := range v.(map[string]any) {
			m[k] = format(e)
		}
		fv.Set(reflect.ValueOf(m))
	}
	return nil
}

// setTables decodes each table of a TypeTableArray into a new element.
func setTables(fv reflect.Value, v any) error {
	tables, _ := tableArray(v)
	out := reflect.MakeSlice(fv.Type(), len(tables), len(tables))
	for i, t := range tables {
		if err := Decode(t, out.Index(i).Addr().Interface()); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	fv.Set(out)
	return nil
}

// resolvedStrings writes the elements of a string array as text: a
// "{port}" element resolves to the port's integer, which the argv the
// runner starts holds as "8123".
func resolvedStrings(k *Key, v any) any {
	arr, ok := v.([]any)
	if !ok || k.Type != TypeStrings && k.Type != TypeStringOrStrings {
		return v
	}
	out := make([]any, len(arr))
	for i, e := range arr {
		switch e.(type) {
		case string, []any, map[string]any:
			out[i] = e // strings, or a shape the type check refuses
		default:
			out[i] = format(e)
		}
	}
	return out
}
