"""The lesson's seven programs and exercise 1 redone the LangChain 1.x way, shipped as files, with what to watch
in each (`flowertui lesson`)."""
