// Package node depends on ds, a lower layer, and on a test helper package.
package node

import (
	"example.com/layered/ds"
	"example.com/layered/ds/dstest" // want layering
)

// Name is a constant.
const Name = ds.Name + dstest.Name
