package bolt

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/sanbao/sanbao/policy"
)

// fill sets every field of v (recursively) to a non-zero value derived from
// seed, so a field added to policy.Item later and forgotten by the binary
// encoding fails the round trip below.
func fill(v reflect.Value, seed *int) {
	*seed++
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + strconv.Itoa(*seed))
	case reflect.Int, reflect.Int64, reflect.Uint64:
		if v.Type() == reflect.TypeOf(time.Month(0)) {
			v.SetInt(int64(*seed%12 + 1))
			return
		}
		if v.CanInt() {
			v.SetInt(int64(*seed))
		} else {
			v.SetUint(uint64(*seed))
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), seed)
		}
		v.Set(s)
	case reflect.Struct:
		switch v.Type() {
		case reflect.TypeOf(time.Time{}):
			v.Set(reflect.ValueOf(time.Unix(1700000000+int64(*seed), int64(*seed)).UTC()))
			return
		case reflect.TypeOf(policy.Date{}):
			v.Set(reflect.ValueOf(policy.Date{Year: 2020 + *seed%10, Month: time.Month(*seed%12 + 1), Day: *seed%28 + 1}))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed)
			}
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

func TestItemRecordRoundTripsEveryField(t *testing.T) {
	var r itemRec
	seed := 0
	fill(reflect.ValueOf(&r).Elem(), &seed)
	got, err := decodeItem(r.Serial, r.append(nil))
	must(t, err)
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip lost a field:\n got %+v\nwant %+v", got, r)
	}
	for _, n := range []int{0, 1, 5, 20} { // every truncation is an error, never a panic
		b := r.append(nil)
		if _, err := decodeItem("x", b[:len(b)-n-1]); err == nil {
			t.Fatalf("truncated by %d bytes: no error", n+1)
		}
	}
	if _, err := decodeItem("x", []byte{99, 1, 2}); err == nil {
		t.Fatal("an unknown version must be refused")
	}
}
