// Package ds depends on env, a lower layer.
package ds

import "example.com/layered/env"

// Name is a constant.
const Name = env.Name
