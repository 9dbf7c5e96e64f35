"""The lesson's seven programs, shipped as files, with what to watch in each (`flowertui lesson`)."""
