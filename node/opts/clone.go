package opts

import (
	"reflect"

	"github.com/natsim/natsim/proto/conf"
)

// Clone returns a deep copy of o: users, nkeys, accounts, permissions, lists and maps
// are copied, and pointers shared inside o (a users' default permissions, an account's
// users that also sit in Options.Users) stay shared inside the copy. Parsed values kept
// in Deferred are immutable and shared.
func (o *Options) Clone() *Options {
	if o == nil {
		return nil
	}
	copier := &deepCopier{seen: map[uintptr]reflect.Value{}}
	clone := copier.copy(reflect.ValueOf(o)).Interface().(*Options)
	clone.inConfig = copyFlags(o.inConfig)
	clone.inCmdLine = copyFlags(o.inCmdLine)
	return clone
}

func copyFlags(m map[string]bool) map[string]bool {
	if m == nil {
		return nil
	}
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var confValueType = reflect.TypeOf((*conf.Value)(nil))

// deepCopier copies exported fields recursively, remembering copied pointers so that
// aliasing is preserved and cycles terminate.
type deepCopier struct {
	seen map[uintptr]reflect.Value
}

func (c *deepCopier) copy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || v.Type() == confValueType {
			return v
		}
		if done, ok := c.seen[v.Pointer()]; ok {
			return done
		}
		out := reflect.New(v.Type().Elem())
		c.seen[v.Pointer()] = out
		out.Elem().Set(c.copy(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v) // unexported fields are copied shallowly
		for i := 0; i < v.NumField(); i++ {
			if out.Field(i).CanSet() {
				out.Field(i).Set(c.copy(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(c.copy(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		iterator := v.MapRange()
		for iterator.Next() {
			out.SetMapIndex(iterator.Key(), c.copy(iterator.Value()))
		}
		return out
	}
	return v
}
