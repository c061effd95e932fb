// Package env depends on a package of its module outside env/.
package env

import "example.com/layered/util" // want env-stdlib

// Name is a constant.
const Name = util.Name
