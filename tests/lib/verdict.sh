# verdict NAME STATUS [WHY]: prints "ok - NAME" or "not ok - NAME: WHY" and appends
# "pass NAME" / "fail NAME" to $results (the counting format of tests/run-all.sh);
# a failure sets failed=1. Sourced by the check scripts under tests/.
verdict() {
    if [ "$2" -eq 0 ]; then
        echo "ok - $1"; echo "pass $1" >>"$results"
    else
        echo "not ok - $1${3:+: $3}"; echo "fail $1" >>"$results"; failed=1
    fi
}
