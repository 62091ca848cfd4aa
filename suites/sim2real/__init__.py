"""The sim2real suite, under construction: its scenario data and procedure; no suite or simulator registered yet."""
