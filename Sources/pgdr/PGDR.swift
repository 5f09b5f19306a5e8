import ArgumentParser



@main struct PGDR: AsyncParsableCommand { func run() async throws {} }
