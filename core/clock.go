package core

import "time"

// Clock is the time source of the framework's services: command.Options
// takes one, and in an fx graph Module constructors take a Clock from the
// graph when there is one (the embedded runtime provides its virtual
// clock), else time.Now.
type Clock func() time.Time
